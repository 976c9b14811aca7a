// AES-256-GCM keyring: nonces, tags, associated data and key ids (NIST SP 800-38D).
#include "store/keyring.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mcpgate::store {
namespace {

Keyring ring(const std::string& text) {
  auto parsed = Keyring::parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return *parsed.value;
}

std::string aad(std::string_view service, std::string_view key_name, std::string_view issuer,
                std::string_view subject, std::string_view key_id = "k1") {
  return *row_associated_data(kAadCurrent, service, key_name, issuer, subject, key_id);
}

const std::string kAad = aad("github", "token", "", "");

TEST(Keyring, SealThenOpenReturnsThePlaintext) {
  auto k = ring(Keyring::generate("k1"));
  auto box = k.seal("ghp_secret_value", kAad);
  EXPECT_EQ(box.key_id, "k1");
  EXPECT_EQ(box.nonce.size(), 12u);
  EXPECT_EQ(box.tag.size(), 16u);
  EXPECT_EQ(box.ciphertext.find("ghp_secret_value"), std::string::npos);
  auto back = k.open(box, kAad);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back.value, "ghp_secret_value");
}

TEST(Keyring, HundredThousandEncryptionsNeverRepeatANonce) {
  auto k = ring(Keyring::generate("k1"));
  std::set<std::string> nonces;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(nonces.insert(k.seal("v", kAad).nonce).second) << "at " << i;
}

void expect_refused(const Keyring& k, const Sealed& box, const std::string& aad = kAad) {
  auto back = k.open(box, aad);
  EXPECT_FALSE(back.ok());
  EXPECT_EQ(back.reason, Reason::StoreDecryptFailed);
  EXPECT_FALSE(back.value.has_value());
  EXPECT_EQ(back.message().find("secret-plaintext"), std::string::npos);
}

TEST(Keyring, FlippedCiphertextByteIsRefused) {
  auto k = ring(Keyring::generate("k1"));
  auto box = k.seal("secret-plaintext", kAad);
  box.ciphertext[3] ^= 0x01;
  expect_refused(k, box);
}

TEST(Keyring, FlippedNonceByteIsRefused) {
  auto k = ring(Keyring::generate("k1"));
  auto box = k.seal("secret-plaintext", kAad);
  box.nonce[0] ^= 0x80;
  expect_refused(k, box);
}

TEST(Keyring, FlippedTagByteIsRefused) {
  auto k = ring(Keyring::generate("k1"));
  auto box = k.seal("secret-plaintext", kAad);
  box.tag[15] ^= 0x01;
  expect_refused(k, box);
}

TEST(Keyring, TruncatedTagIsRefused) {
  auto k = ring(Keyring::generate("k1"));
  auto box = k.seal("secret-plaintext", kAad);
  box.tag.resize(12);
  expect_refused(k, box);
}

TEST(Keyring, CiphertextMovedToAnotherRowIsRefused) {
  auto k = ring(Keyring::generate("k1"));
  auto box = k.seal("secret-plaintext", kAad);
  expect_refused(k, box, aad("gitlab", "token", "", ""));
  expect_refused(k, box, aad("github", "token", "", "alice"));
  auto alices = k.seal("secret-plaintext", aad("github", "token", "https://a.example", "alice"));
  expect_refused(k, alices, aad("github", "token", "https://b.example", "alice"));
}

TEST(Keyring, AssociatedDataFieldsCannotBeShifted) {
  EXPECT_NE(aad("ab", "c", "", ""), aad("a", "bc", "", ""));
  EXPECT_NE(aad("a", "b", "", "c"), aad("a", "", "", "bc"));
  EXPECT_NE(aad("a", "b", "i", "s"), aad("a", "b", "", "is"));
  EXPECT_NE(aad("a", "b", "i", "s"), aad("a", "b", "is", ""));
}

// Rows sealed before issuers (layout 1) keep opening; layout 1 cannot stand for a row that has an issuer,
// and the two layouts never produce the same bytes.
TEST(Keyring, SchemaOneLayoutOpensOnlyRowsWithoutAnIssuer) {
  const auto v1 = row_associated_data(kAadSchema1, "github", "token", "", "alice", "k1");
  ASSERT_TRUE(v1);
  EXPECT_NE(*v1, aad("github", "token", "", "alice"));
  EXPECT_FALSE(row_associated_data(kAadSchema1, "github", "token", "https://a.example", "alice", "k1"));
  EXPECT_FALSE(row_associated_data(3, "github", "token", "", "", "k1"));
}

TEST(Keyring, WrongKeyUnderTheSameIdIsRefused) {
  auto writer = ring(Keyring::generate("k1"));
  auto reader = ring(Keyring::generate("k1"));
  expect_refused(reader, writer.seal("secret-plaintext", kAad));
}

TEST(Keyring, MissingKeyIdIsNamed) {
  auto writer = ring(Keyring::generate("k1"));
  auto reader = ring(Keyring::generate("k2"));
  auto back = reader.open(writer.seal("secret-plaintext", kAad), kAad);
  EXPECT_EQ(back.reason, Reason::StoreKeyMissing);
  EXPECT_NE(back.detail.find("'k1'"), std::string::npos);
}

TEST(Keyring, FirstKeyEncryptsAndEveryKeyDecrypts) {
  const auto k1 = Keyring::generate("k1"), k2 = Keyring::generate("k2");
  auto old_ring = ring(k1);
  auto new_ring = ring(k2 + "," + k1);
  EXPECT_EQ(new_ring.active_id(), "k2");
  auto old_box = old_ring.seal("v1", kAad);
  auto back = new_ring.open(old_box, kAad);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back.value, "v1");
  EXPECT_EQ(new_ring.seal("v2", kAad).key_id, "k2");
}

TEST(Keyring, KeyFileFormatWithCommentsAndNewlines) {
  const auto k1 = Keyring::generate("k1"), k2 = Keyring::generate("k2");
  auto r = ring("# master keys\n" + k2 + "\n\n" + k1 + "\n");
  EXPECT_EQ(r.ids(), (std::vector<std::string>{"k2", "k1"}));
}

TEST(Keyring, RejectsKeysThatAreNotThirtyTwoBytes) {
  EXPECT_EQ(Keyring::parse("k1:AAAA").reason, Reason::StoreKeyInvalid);
  EXPECT_EQ(Keyring::parse("k1:" + std::string(43, 'A') + "=" + "A").reason, Reason::StoreKeyInvalid);
  EXPECT_EQ(Keyring::parse("no-colon").reason, Reason::StoreKeyInvalid);
  EXPECT_EQ(Keyring::parse("").reason, Reason::StoreKeyInvalid);
}

TEST(Keyring, RejectsDuplicateKeyIds) {
  auto dup = Keyring::parse(Keyring::generate("k1") + "," + Keyring::generate("k1"));
  EXPECT_EQ(dup.reason, Reason::StoreKeyInvalid);
  EXPECT_NE(dup.detail.find("twice"), std::string::npos);
}

TEST(Keyring, ParseErrorsNeverEchoTheKeyMaterial) {
  auto bad = Keyring::parse("k1:c2VjcmV0LWtleS1tYXRlcmlhbA==");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.message().find("c2VjcmV0"), std::string::npos);
}

}  // namespace
}  // namespace mcpgate::store
