// A stateless MCP server (protocol 2026-07-28) built with the MCP TypeScript SDK v2 (@modelcontextprotocol/server
// 2.4.0, createMcpHandler: one McpServer per request, no sessions), for tests/e2e/v2/v2_test.sh. Listens on a free
// 127.0.0.1 port and prints "listening on http://127.0.0.1:PORT" (the MCP endpoint is any path, e.g. /mcp).
// Tools: read_page, create_page, run_sql. Every JSON-RPC message that reaches it is recorded with the headers the
// gateway forwarded; GET /_stats answers {"calls": {tool: count}, "requests": [...]} so the client test can prove a
// refused call never got here.
import http from "node:http";
import { McpServer, createMcpHandler } from "@modelcontextprotocol/server";
import * as z from "zod";

const pages = new Map([["home", "Welcome home"]]);
const handler = createMcpHandler(() => {
  const s = new McpServer({ name: "mcpgate-e2e-v2", version: "1.0.0" });
  s.registerTool("read_page", { description: "Reads a page", inputSchema: z.object({ title: z.string() }) },
    async ({ title }) => ({ content: [{ type: "text", text: pages.get(title) ?? `no page ${title}` }] }));
  s.registerTool("create_page",
    { description: "Creates a page", inputSchema: z.object({ title: z.string(), body: z.string() }) },
    async ({ title, body }) => {
      pages.set(title, body);
      return { content: [{ type: "text", text: `created ${title}` }] };
    });
  s.registerTool("run_sql", { description: "Runs SQL", inputSchema: z.object({ sql: z.string() }) },
    async ({ sql }) => ({ content: [{ type: "text", text: `ran ${sql}` }] }));
  return s;
});

const calls = {};
const requests = [];
const server = http.createServer(async (req, res) => {
  if (req.url === "/_stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ calls, requests }));
    return;
  }
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  try {
    for (const m of [JSON.parse(body.toString())].flat()) {
      if (m.method === "tools/call") calls[m.params?.name] = (calls[m.params?.name] ?? 0) + 1;
      requests.push({
        method: m.method,
        name: m.params?.name,
        protocol_version: req.headers["mcp-protocol-version"] ?? null,
        session: req.headers["mcp-session-id"] ?? null,
        subject: req.headers["x-auth-subject"] ?? null,
        scopes: req.headers["x-auth-scopes"] ?? null,
        authorization: req.headers.authorization ? "present" : null,
      });
    }
  } catch {}
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  const r = await handler.fetch(new Request(`http://127.0.0.1${req.url}`, {
    method: req.method,
    headers,
    body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
  }));
  res.writeHead(r.status, Object.fromEntries(r.headers));
  if (r.body) for await (const c of r.body) res.write(c);
  res.end();
});
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
