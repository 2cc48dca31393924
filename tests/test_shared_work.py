"""rawspace.processes.shared_with_workers: the calling process works while it waits."""

from __future__ import annotations

import pytest

from rawspace.processes import shared_with_workers, worker_pool


class _Late:
    """An async result that is ready only once waited for (a slow worker)."""

    def __init__(self, value: int, log: list[str]):
        self.value, self.log, self.done = value, log, False

    def ready(self) -> bool:
        return self.done

    def wait(self, timeout: float | None = None) -> None:
        self.log.append(f"wait {self.value}")
        self.done = True

    def get(self, timeout: float | None = None) -> int:
        assert self.done, "get() before the result is ready"
        return self.value


def test_the_caller_runs_the_next_batches_while_the_workers_are_busy():
    log: list[str] = []

    def here(batch: list[int]) -> int:
        log.append(f"here {sum(batch)}")
        return sum(batch)

    def there(batch: list[int], slot: int) -> _Late:
        log.append(f"there {sum(batch)} in {slot}")
        return _Late(sum(batch), log)

    batches = [[1], [2], [3], [4], [5]]
    results = list(shared_with_workers(batches, here=here, there=there, slots=2))  # type: ignore[arg-type]
    assert [value for _, value in results] == [1, 2, 3, 4, 5]  # the order of the batches
    assert [slot for slot, _ in results] == [0, 1, None, None, None]
    # two batches go to the workers; while the first is not ready the caller runs
    # the other three, then waits, since nothing is left to run
    assert log == ["there 1 in 0", "there 2 in 1", "here 3", "here 4", "here 5", "wait 1", "wait 2"]


def test_a_slot_is_reused_only_after_its_result_was_consumed():
    log: list[str] = []

    class Ready(_Late):
        def ready(self) -> bool:
            return True

        def get(self, timeout: float | None = None) -> int:
            return self.value

    def there(batch: list[int], slot: int) -> Ready:
        log.append(f"there {batch[0]} in {slot}")
        return Ready(batch[0], log)

    results = shared_with_workers([[1], [2], [3]], here=sum, there=there, slots=1)  # type: ignore[arg-type]
    assert next(results) == (0, 1) and log == ["there 1 in 0"]
    assert next(results) == (0, 2) and log == ["there 1 in 0", "there 2 in 0"]
    assert list(results) == [(0, 3)]


def test_with_a_real_pool_the_results_are_those_of_a_serial_run():
    batches = [list(range(k, k + 3)) for k in range(0, 60, 3)]
    with worker_pool(1) as pool:
        results = list(
            shared_with_workers(
                batches,
                here=sum,
                there=lambda batch, slot: pool.apply_async(sum, (batch,)),
                slots=2,
            )
        )
    assert [value for _, value in results] == [sum(b) for b in batches]


def test_slots_must_be_positive():
    with pytest.raises(ValueError, match="slots must be >= 1, got 0"):
        list(shared_with_workers([[1]], here=sum, there=None, slots=0))  # type: ignore[arg-type]
