"""Sharding the benchmark: the split rule equals accelerate's, shares cover every case once, shards merge in order."""

from types import SimpleNamespace

import pytest

from ems_core.bench.shard import ProcessShare, merge_shards, process_share, split_range, write_shard


@pytest.mark.parametrize("n,world", [(0, 1), (7, 1), (7, 3), (10, 4), (3, 5), (276, 8)])
def test_shares_cover_every_case_once(n, world):
    shares = [list(split_range(n, rank, world)) for rank in range(world)]
    assert sum(shares, []) == list(range(n))  # contiguous, in order, no overlap, nothing lost
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


@pytest.mark.parametrize("n,world", [(7, 3), (10, 4), (3, 5)])
def test_split_matches_accelerate(n, world):
    """accelerate's own ``split_between_processes`` on stand-in states (no processes launched)."""
    PartialState = pytest.importorskip("accelerate").PartialState
    for rank in range(world):
        state = SimpleNamespace(num_processes=world, process_index=rank)
        with PartialState.split_between_processes(state, list(range(n))) as mine:
            assert list(mine) == list(split_range(n, rank, world))
        fake = SimpleNamespace(split_between_processes=lambda items, s=state: PartialState.split_between_processes(s, items))
        assert ProcessShare(rank, world, _state=fake).split(list(range(n))) == list(split_range(n, rank, world))


def test_a_plain_run_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    share = process_share()
    assert (share.rank, share.world, share.is_main) == (0, 1, True)
    assert share.split([3, 1, 2]) == [3, 1, 2]
    with pytest.raises(ValueError):
        split_range(5, 2, 2)


def test_shards_merge_in_rank_order(tmp_path):
    write_shard(tmp_path, 1, {"records": [{"case": "c"}], "costs": {"x": 2}})
    write_shard(tmp_path, 0, {"records": [{"case": "a"}, {"case": "b"}], "costs": {"x": 1}})
    merged = merge_shards(tmp_path, 2)
    assert [r["case"] for r in merged["records"]] == ["a", "b", "c"] and merged["costs"] == {"x": 1}
    with pytest.raises(FileNotFoundError, match="rank 2"):
        merge_shards(tmp_path, 3)
