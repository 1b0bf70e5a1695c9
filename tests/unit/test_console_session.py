"""The console's CSRF token: bound to the session's key, the same in every server process, never the key."""

from adapters.http.console.session import csrf_token

KEY = "blk_k_0123456789abcdef_" + "A" * 43


def test_the_csrf_token_is_the_keys_own_and_reveals_nothing_of_it():
    token = csrf_token(KEY)
    assert token == csrf_token(KEY)  # every worker process agrees, with no shared secret to configure
    assert token != csrf_token(KEY[:-1] + "B")  # another session, another token
    assert KEY not in token and KEY[-43:] not in token
    assert len(token) == 64 and int(token, 16) >= 0  # HMAC-SHA256, hex
