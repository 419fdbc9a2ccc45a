"""Mistakes around `commune serve` get one plain sentence and change nothing."""

from __future__ import annotations

from pathlib import Path

from nodekit import Served, as_json, commune, free_port, wait_for


def test_a_second_node_on_one_directory_or_a_taken_port_is_refused(tmp_path: Path) -> None:
    ana, bo = tmp_path / "ana", tmp_path / "bo"
    commune("found", "--name", "One", "--as", "Ana", "-d", str(ana))
    commune("found", "--name", "Two", "--as", "Bo", "-d", str(bo))
    first = Served(ana, free_port())
    try:
        again = commune("serve", "-d", str(ana), "--listen", f"127.0.0.1:{free_port()}", check=False)
        assert again.returncode == 2 and "a node already serves" in again.stderr
        assert as_json("status", "-d", str(ana))["serving"]  # the first node still answers on node.sock
        taken = commune("serve", "-d", str(bo), "--listen", f"127.0.0.1:{first.port}", check=False)
        assert taken.returncode == 2 and "cannot listen on" in taken.stderr and "Traceback" not in taken.stderr
        assert not (bo / "serving.json").exists()
    finally:
        assert first.stop() == 0


def test_joining_goes_to_the_inviter_whatever_other_peers_are_known(tmp_path: Path) -> None:
    """A newcomer whose profile advertises an address is not yet a participant: a later joiner
    learns that address but must sync with its inviter, who admits its links."""
    ana, dee, eve = tmp_path / "ana", tmp_path / "dee", tmp_path / "eve"
    commune("found", "--name", "Joins", "--as", "Ana", "-d", str(ana))
    served = [Served(ana, free_port())]
    try:
        commune("join", commune("invite", "-d", str(ana)).stdout.strip(), "--name", "Dee", "-d", str(dee))
        port = free_port()
        served.append(Served(dee, port, "--peer", served[0].peer, "--advertise", f"127.0.0.1:{port}"))
        commune("join", commune("invite", "-d", str(ana)).stdout.strip(), "--name", "Eve", "-d", str(eve))
        eve_status = as_json("status", "-d", str(eve))
        assert eve_status["commune"] == as_json("status", "-d", str(ana))["commune"]
        assert eve_status["height"] >= 2  # the blocks that took in Dee's entries reached Eve
    finally:
        for s in served:
            s.stop()


def test_an_investor_is_known_by_the_name_they_registered_with(tmp_path: Path) -> None:
    ana, cy = tmp_path / "ana", tmp_path / "cy"
    commune("found", "--name", "Investors", "--as", "Ana", "-d", str(ana))
    served = Served(ana, free_port())
    try:
        commune("join", commune("invite", "-d", str(ana)).stdout.strip(), "--name", "Cy", "--investor", "-d", str(cy))
        wait_for(lambda: any(m["kind"] == "investor" for m in as_json("members", "-d", str(ana))), what="registration")
        (investor,) = [m for m in as_json("members", "-d", str(ana)) if m["kind"] == "investor"]
        assert investor["name"] == "Cy" and investor["key"] == as_json("status", "-d", str(cy))["key"]
        # Named, the investor can be paid: Ana has no money, so the rules refuse, naming the overdraft.
        paid = commune("transfer", "Cy", "1.00", "-d", str(ana), check=False)
        assert paid.returncode == 4 and "refused (overdraft)" in paid.stderr
    finally:
        served.stop()


def test_a_data_directory_deeper_than_a_unix_socket_path_allows(tmp_path: Path) -> None:
    """A socket path has at most 107 bytes; a node in a deeper directory still serves its
    commands (through the directory's descriptor), instead of failing with a traceback."""
    deep = tmp_path / ("nested-" * 9) / ("directory-" * 6) / "ana"
    assert len(str(deep / "node.sock")) > 107
    commune("found", "--name", "Deep", "--as", "Ana", "-d", str(deep))
    served = Served(deep, free_port())
    try:
        status = as_json("status", "-d", str(deep))
        assert status["serving"] and status["addresses"] == [f"127.0.0.1:{served.port}"]
        out = commune("deposit", "12.50", "-d", str(deep)).stdout
        assert "deposit noted" in out and "next sync" not in out  # went through the serving node
    finally:
        assert served.stop() == 0
    assert not (deep / "node.sock").exists()


def test_founding_twice_in_one_directory_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    ana = tmp_path / "ana"
    commune("found", "--name", "One", "--as", "Ana", "-d", str(ana))
    before = as_json("status", "-d", str(ana))
    again = commune("found", "--name", "Two", "--as", "Bo", "-d", str(ana), check=False)
    assert again.returncode == 2 and "holds a commune already" in again.stderr
    after = as_json("status", "-d", str(ana))
    assert (after["name"], after["digest"], after["key"]) == ("One", before["digest"], before["key"])
