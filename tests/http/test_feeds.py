"""POST /v1/feeds: Idempotency-Key (replay, other body 422, first still running 409) and 16 concurrent
refund requests for one account (K-Q1: at most 3 a month are accepted)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from adapters.bootstrap import Settings, bootstrap
from adapters.store import idempotency, liveness
from tests.http.conftest import RACE, at_once, purchase, refund_request


def key_id(server, name: str) -> str:
    return next(k["id"] for k in server.get("/v1/keys", "admin").json()["keys"] if k["name"] == name)


def test_a_retried_post_with_the_same_key_answers_the_first_answer_and_records_once(server):
    key = {"Idempotency-Key": f"try-{uuid.uuid4()}"}
    feed = purchase("idem-1", "idem") + "\n"
    first = server.post("/v1/feeds", "recorder", content=feed, headers=key)
    assert first.json() == {"lines": 1, "recorded": 1, "duplicates": 0, "denied": 0}, first.text
    again = server.post("/v1/feeds", "recorder", content=feed, headers=key)
    assert again.status_code == 200 and again.json() == first.json()  # not "duplicates": 1: the first answer
    assert again.headers["idempotent-replayed"] == "true"
    other = server.post("/v1/feeds", "recorder", content=purchase("idem-2", "idem") + "\n", headers=key)
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    assert server.get("/v1/instances/idem-2/history", "admin").status_code == 404  # nothing written
    # another key's client may use the same idempotency key for its own request
    assert server.post("/v1/feeds", "admin", content=feed, headers=key).json()["duplicates"] == 1


def test_a_failed_request_releases_its_key(server):
    key = {"Idempotency-Key": f"try-{uuid.uuid4()}"}
    assert server.post("/v1/feeds", "recorder", content="{not json\n", headers=key).status_code == 422
    fixed = server.post("/v1/feeds", "recorder", content=purchase("idem-3", "idem") + "\n", headers=key)
    assert fixed.json()["recorded"] == 1


def test_the_same_key_while_the_first_request_still_runs_is_409(server):
    """The first request's process (this one) is alive: its key stays in use (issue 30, item 8: a dead one's is
    taken over, tests/http/test_idempotency_crash.py)."""
    key, feed = f"running-{uuid.uuid4()}", (purchase("idem-4", "idem") + "\n").encode()
    app = bootstrap(Settings.resolve(server.db))  # the first request: its row claimed, its answer not yet stored
    try:
        from adapters.services.idempotency import fingerprint

        assert idempotency.claim(app.readmodels, key_id(server, "recorder"), key, fingerprint(feed, False),
                                 datetime.now(UTC), liveness.me(app.readmodels)) is None
        got = server.post("/v1/feeds", "recorder", content=feed, headers={"Idempotency-Key": key})
    finally:
        app.close()
    assert got.status_code == 409 and got.json()["status"] == 409
    assert server.get("/v1/instances/idem-4/history", "admin").status_code == 404


def test_sixteen_concurrent_refund_requests_for_one_account_accept_at_most_three_K_Q1(server):
    answers = at_once(lambda client, n: client.post(
        server.base + "/v1/feeds", content=refund_request(f"race-{n}", f"r-race-{n}"),
        headers={"Authorization": f"Bearer {server.keys['recorder']}"}), RACE)
    assert [a.status_code for a in answers] == [200] * RACE, [a.text for a in answers if a.status_code != 200]
    accepted = [a for a in answers if a.json()["denied"] == 0]
    assert len(accepted) == 3
    states = [r["state"] for r in server.get("/v1/refunds", "admin", params={"account": "race"}).json()["refunds"]]
    assert sorted(states) == ["accepted"] * 3 + ["denied"] * (RACE - 3)


def test_a_feed_with_several_bad_lines_is_one_422_listing_every_one_and_writes_nothing(server):
    """Issue 25 item 8: every bad line in ``errors`` (``line N: field: what``), the count in ``detail``."""
    feed = "\n".join([purchase("many-1", "many"), '{"type": "purchase"', purchase("many-2", "many"),
                      purchase("many-3", "many").replace('"months": 12', '"months": 0')]) + "\n"
    got = server.post("/v1/feeds", "recorder", content=feed)
    assert got.status_code == 422 and got.headers["content-type"] == "application/problem+json", got.text
    body = got.json()
    assert body["detail"] == "2 bad lines; nothing was recorded"
    assert [e.split(":")[0] for e in body["errors"]] == ["line 2", "line 4"]
    assert body["errors"][1] == "line 4: months: Input should be greater than or equal to 1"
    again = purchase("many-1", "many").replace("buy-many-1", "buy-again").replace("o-many-1", "o-again")
    other = purchase("many-4", "many").replace("buy-many-4", "buy-many-1")  # line 1's id, other content
    refused = server.post("/v1/feeds", "recorder", content="\n".join([purchase("many-1", "many"), again, other]))
    assert refused.status_code == 422 and refused.json()["detail"] == "2 bad lines; nothing was recorded"
    assert [e.split(":")[:2] for e in refused.json()["errors"]] == [["line 2", " instance"], ["line 3", " id"]]
    for name in ("many-1", "many-2"):
        assert server.get(f"/v1/instances/{name}/history", "admin").status_code == 404  # nothing written
