"""English in messages (issue 25 item 15): the indefinite article and a count with its noun."""

from domain.wording import a, count


def test_the_article_follows_the_sound():
    assert [a(w) for w in ("auditor", "admin", "finance", "customer", "escalated", "requested")] == [
        "an auditor", "an admin", "a finance", "a customer", "an escalated", "a requested"]
    assert [a(w) for w in ("EBS", "EIP", "KEC", "KRDS", "MongoDB")] == ["an EBS", "an EIP", "a KEC", "a KRDS",
                                                                       "a MongoDB"]


def test_a_count_agrees_with_its_noun():
    assert [count(n, "seal") for n in (0, 1, 2, 1000)] == ["0 seals", "1 seal", "2 seals", "1,000 seals"]
