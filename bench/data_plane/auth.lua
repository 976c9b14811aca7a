-- wrk: GET /auth (mcpgate's forward-auth check) with the bench token, as nginx auth_request would send it.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
