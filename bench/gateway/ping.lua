-- ping.lua — wrk script: POST one JSON-RPC `ping` to an MCP endpoint, inside an existing session.
--   MCP_SESSION_ID=<id> BENCH_TOKEN=<token> wrk -t2 -c16 -d8s --latency -s ping.lua http://127.0.0.1:PORT/mcp
-- MCP_SESSION_ID is required (the server answers 400 without it); BENCH_TOKEN, when set, is sent as the
-- bearer token (the gateway needs it, the upstream does not).
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"ping"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Mcp-Session-Id"] = os.getenv("MCP_SESSION_ID")
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
