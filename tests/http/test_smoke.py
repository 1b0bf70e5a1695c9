def test_the_server_answers_its_health_checks_without_a_key(server):
    assert server.get("/healthz").json() == {"status": "ok"}
    assert server.get("/readyz").json()["ok"] is True
