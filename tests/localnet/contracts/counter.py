"""Counter: a localnet test contract (state get/set/increment, logs, a panic with a message, views).

Built by `contract.build.build_contract(Path("tests/localnet/contracts/counter.py"))`. Uses near-sdk-py's
decorators and `Storage` so the localnet exercises the SDK as users write it.
"""

import near
from near_sdk_py import Log, Storage, call, view

COUNT_KEY = "count"


def _count():
    raw = Storage.get_string(COUNT_KEY)
    return int(raw) if raw else 0


@view
def get_count():
    """The current count (0 before any write)."""
    return _count()


@call
def set_count(value):
    """Store `value` (an int) and log it."""
    Storage.set(COUNT_KEY, str(int(value)))
    Log.info("count set to " + str(int(value)))
    return int(value)


@call
def increment(by=1):
    """Add `by` to the count, log the new value and return it."""
    count = _count() + int(by)
    Storage.set(COUNT_KEY, str(count))
    near.log_utf8("count is now " + str(count))
    return count


@call
def fail(message="counter failed on purpose"):
    """Panic with `message` after writing state (the write must be rolled back)."""
    Storage.set(COUNT_KEY, "999999")
    near.panic_utf8(message)


@view
def context():
    """Call context as the contract sees it (for checking the VM's host functions)."""
    return {
        "current_account_id": near.current_account_id(),
        "block_height": near.block_height(),
        "block_timestamp": near.block_timestamp(),
        "storage_usage": near.storage_usage(),
        "account_balance": str(near.account_balance()),
    }


@near.export
def echo():
    """Return the raw input bytes unchanged (no JSON parsing)."""
    near.value_return(near.input())
