"""labcore.owners: a browser owns the name its token was signed for, and a typed token owns nothing."""

import multiprocessing
import stat

import pytest

from labcore import owners


def test_a_signed_token_names_its_owner_and_any_change_to_it_names_no_one(tmp_path):
    key = owners.secret(tmp_path)
    token = owners.sign("alice-session", key)
    assert owners.owner_of(token, key) == "alice-session"
    name, signature = token.split(".")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for forged in (name, f"{name}.{flipped}", f"bob-session.{signature}", token.upper(), token + "0", None, "",
                   owners.sign("alice-session", b"another server's secret")):
        assert owners.owner_of(forged, key) is None, forged


def test_issued_tokens_are_fresh_random_names_never_the_fixed_owners(tmp_path):
    key = owners.secret(tmp_path)
    names = {owners.owner_of(owners.issue(key), key) for _ in range(50)}
    assert len(names) == 50 and not names & {"cli", "prebake", None}


def _secret_of(folder):
    return owners.secret(folder)


def test_the_secret_is_made_once_readable_by_its_user_only_and_shared_by_processes(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        made = pool.map(_secret_of, [tmp_path] * 8)
    assert len(set(made)) == 1 and len(made[0]) == 64
    assert owners.secret(tmp_path) == made[0]
    assert stat.S_IMODE((tmp_path / "owner_secret").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["owner_secret"], "no draft file is left behind"


@pytest.mark.parametrize("name", ["ab", "a" * 49, "a b", "\u0430lice", "x.y"])
def test_names_outside_the_allowed_shape_are_never_owners(tmp_path, name):
    key = owners.secret(tmp_path)
    assert owners.owner_of(owners.sign(name, key), key) is None
