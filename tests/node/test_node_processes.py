"""Several real `commune` processes on loopback (issue 5): a commune is founded, members are
invited and admitted, people deposit, transfer and vote on different nodes, and every node
ends with the same state digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nodekit import Served, as_json, commune, free_port, wait_for


def status(directory: Path) -> dict:
    return as_json("status", "-d", str(directory))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_commune_of_three_nodes_agrees(tmp_path: Path) -> None:
    ana, ben, cai = tmp_path / "ana", tmp_path / "ben", tmp_path / "cai"
    commune(
        "found",
        "--name",
        "Bread and Wheels",
        "--as",
        "Ana",
        "--enterprise",
        "Bakery",
        "--charter",
        "probation_days=0",
        "-d",
        str(ana),
    )
    served = [Served(ana, free_port())]
    try:
        # Ana invites Ben and Cai; each joins with their own token.
        for person, name in ((ben, "Ben"), (cai, "Cai")):
            token = commune("invite", "-d", str(ana)).stdout.strip()
            out = commune("join", token, "--name", name, "-d", str(person)).stdout
            assert f"as {name}" in out
        # A token works once: a third node cannot use Ben's.
        token = commune("invite", "-d", str(ana)).stdout.strip()
        commune("join", token, "--name", "Dee", "-d", str(tmp_path / "dee"))
        again = commune("join", token, "--name", "Eve", "-d", str(tmp_path / "eve"), check=False)
        assert again.returncode != 0 and "invitation" in again.stderr and "Traceback" not in again.stderr

        # Each serves; Ana's node (the steward's) is everyone's first peer.
        # Each advertises its address in a signed profile, so the others learn where it is.
        for person in (ben, cai):
            port = free_port()
            served.append(Served(person, port, "--peer", served[0].peer, "--advertise", f"127.0.0.1:{port}"))
        # Ana attests both by name (their profiles reached her node); each accepts on their own node.
        for name in ("Ben", "Cai"):
            commune("enterprise", "attest", name, "--enterprise", "Bakery", "-d", str(ana))
        for person in (ben, cai):
            wait_for(lambda p=person: commune("accept", "-d", str(p), check=False).returncode == 0, what="accept")
        wait_for(lambda: all(status(p)["member"] for p in (ben, cai)), what="admission")

        # Money: Ben deposits 100.00, Ana (the steward) confirms it; Ben pays Cai 30.00 on his node.
        commune("deposit", "100.00", "--reference", "SEPA 1", "-d", str(ben))
        wait_for(lambda: len(as_json("pending", "-d", str(ana))) == 1, what="the deposit to reach the steward")
        (deposit,) = as_json("pending", "-d", str(ana))
        assert deposit["amount_minor"] == 10_000 and deposit["who"] == "Ben" and deposit["reference"] == "SEPA 1"
        commune("steward", "confirm-deposit", deposit["id"][:12], "-d", str(ana))
        wait_for(lambda: status(ben)["balance_minor"] == 10_000, what="the credit")
        commune("transfer", "Cai", "30.00", "--memo", "flour", "-d", str(ben))
        assert status(ben)["balance_minor"] == 7_000  # counts the transfer at once, on the chain yet or not
        # An overdraft is refused before it is signed: nothing is written, the exit code says so.
        over = commune("transfer", "Cai", "1,000.00", "-d", str(ben), check=False)
        assert over.returncode == 4, over.stderr
        assert "refused (overdraft)" in over.stderr and "1,000.00 EUR asked, 70.00 EUR available" in over.stderr

        # A vote: Cai proposes a second enterprise; Ana and Ben vote yes on their own nodes.
        wait_for(lambda: status(cai)["balance_minor"] == 3_000, what="the transfer")
        cai_key = status(cai)["key"]
        commune(
            "propose",
            *("register-enterprise", "Bike Workshop", "--signer", cai_key, "--signer", "Ben", "--k", "2"),
            *("-d", str(cai)),
        )
        wait_for(lambda: len(as_json("proposals", "-d", str(ana))) == 1, what="the proposal")
        (proposal,) = as_json("proposals", "-d", str(ana))
        for voter in (ana, ben):
            wait_for(
                lambda v=voter: commune("vote", proposal["id"][:16], "yes", "-d", str(v), check=False).returncode == 0,
                what="vote",
            )
        wait_for(lambda: as_json("proposals", "-d", str(cai))[0]["status"] == "passed", what="the proposal to pass")
        (passed,) = as_json("proposals", "-d", str(cai))
        assert passed["motion"] == "register enterprise 'Bike Workshop'"
        assert passed["electorate"] == 3 and passed["needed"] == 2 and passed["yes"] >= 2 and passed["no"] == 0

        # The workshop needs 2 of its 2 signers: Cai's payment waits until Ben, who sees it on his
        # own node, stands behind it.
        commune("deposit", "20.00", "--enterprise", "Bike Workshop", "--reference", "SEPA 2", "-d", str(cai))
        wait_for(lambda: len(as_json("pending", "-d", str(ana))) == 1, what="the workshop's deposit")
        commune("steward", "confirm-deposit", as_json("pending", "-d", str(ana))[0]["id"][:12], "-d", str(ana))
        out = commune(
            "enterprise", "pay", "Ana", "5.00", "--enterprise", "Bike Workshop", "--memo", "tyres", "-d", str(cai)
        )
        assert "it is made once 2 signers stand behind it" in out.stdout
        wait_for(lambda: len(as_json("enterprise", "pending", "-d", str(ben))) == 1, what="the payment to reach Ben")
        (waiting,) = as_json("enterprise", "pending", "-d", str(ben))
        assert (waiting["enterprise"], waiting["what"], waiting["act"]) == (
            "Bike Workshop",
            "pay 5.00 to Ana (tyres)",
            "transfer",
        )
        assert (waiting["signed"], waiting["needed"], waiting["signed_by_you"]) == (["Cai"], 2, False)
        assert as_json("enterprise", "pending", "-d", str(ana)) == []  # Ana signs for no such enterprise
        commune("enterprise", "approve", waiting["id"][:12], "-d", str(ben))
        wait_for(lambda: status(ana)["balance_minor"] == 5_00, what="the payment")
        wait_for(lambda: as_json("enterprise", "pending", "-d", str(cai)) == [], what="the act to close on Cai's node")
        # So does its offer: it goes to auction, under the id Cai's command printed, once Ben approves.
        (tmp_path / "quote.txt").write_text("Bakfiets BV quotes 2,400.00\n")
        offered = commune(
            "offer",
            *("--enterprise", "Bike Workshop", "--description", "a cargo bike", "--price", "2,400.00"),
            *("--rent", "120.00", "--lease", "24", "--term", "24", "--bonds", "24", "--days", "7"),
            *("--vendor-payee", "Bakfiets BV", "--valuation", str(tmp_path / "quote.txt"), "-d", str(cai)),
        ).stdout
        assert "it goes to auction once 2 signers of Bike Workshop stand behind it" in offered
        wait_for(lambda: len(as_json("enterprise", "pending", "-d", str(ben))) == 1, what="the offer to reach Ben")
        (waiting,) = as_json("enterprise", "pending", "-d", str(ben))
        assert waiting["act"] == "offer" and waiting["what"] == (
            "offer 'a cargo bike' for the commune to buy at 2,400.00, rent 120.00 a period for 24 periods"
        )
        assert as_json("auctions", "-d", str(ana)) == []
        commune("enterprise", "approve", waiting["id"][:12], "-d", str(ben))
        wait_for(lambda: len(as_json("auctions", "-d", str(ana))) == 1, what="the auction to open")
        (auction,) = as_json("auctions", "-d", str(ana))
        assert (auction["id"], auction["auction"], auction["renter"]) == (waiting["id"], "open", "Bike Workshop")
        # The workshop names its signers anew, Ana for Ben, one to act: Ben's approval is the
        # second signature, and after it Ben signs for it no more.
        out = commune("enterprise", "signers", "Bike Workshop", "--signer", "Cai", "--signer", "Ana", "-d", str(cai))
        assert "once 2 of its present signers stand behind it" in out.stdout
        wait_for(lambda: len(as_json("enterprise", "pending", "-d", str(ben))) == 1, what="the change to reach Ben")
        (waiting,) = as_json("enterprise", "pending", "-d", str(ben))
        assert waiting["what"] == "name its signers anew: Cai, Ana, 1 of them to act"
        commune("enterprise", "approve", waiting["id"][:12], "-d", str(ben))

        def ben_signs_no_more() -> bool:
            gone = commune(
                "enterprise", "pay", "Ben", "1.00", "--enterprise", "Bike Workshop", "-d", str(ben), check=False
            )
            return gone.returncode == 4 and "refused (not_a_signer)" in gone.stderr

        wait_for(ben_signs_no_more, what="the new signers")

        # Everyone ends at the same height with the same digest.
        wait_for(
            lambda: len({(s["height"], s["digest"]) for s in map(status, (ana, ben, cai))}) == 1, what="convergence"
        )
        members = {m["name"]: m for m in as_json("members", "-d", str(cai))}
        assert {n: m["balance_minor"] for n, m in members.items()} == {"Ana": 5_00, "Ben": 7_000, "Cai": 3_000}
        assert all(m["kind"] == "member" and m["enterprise"] == "Bakery" for m in members.values())
        # Cai's node learnt Ben's address from his profile (it was only told Ana's).
        peers = {p["key"]: p["addresses"] for p in json.loads((cai / "peers.json").read_text())}
        assert peers[status(ben)["key"]] == [f"127.0.0.1:{served[1].port}"]
    finally:
        codes = [s.stop() for s in served]
    assert codes == [0, 0, 0]  # SIGTERM stops a node cleanly
    for person in (ana, ben, cai):
        assert not (person / "node.sock").exists() and not (person / "serving.json").exists()
