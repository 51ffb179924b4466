"""A custom payload store: SQLite, for offline development (docs/architecture.md)."""

from __future__ import annotations

# --8<-- [start:store]
import sqlite3
import threading
from collections.abc import Mapping, Sequence

from sfn_offload.errors import NoItemFound
from sfn_offload.storage import Address, Membership, Record

_COLUMNS = (
    "container, key, idx, body, encoding, sha256, size, r_container, r_key, expires_at, member, "
    "list_tag"
)


class SqliteStore:
    """Payloads in one SQLite table. Implements PartitionStore (so it can stand in for
    either side of a PayloadRepository): put, get, put_many, get_many, delete_many, query."""

    def __init__(self, path: str = ":memory:", *, backend: str = "dynamodb") -> None:
        self.backend = backend
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()  # the repository may call from its worker threads
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS payloads ({_COLUMNS}, PRIMARY KEY (container, key, idx))"
        )

    def put(self, address: Address, record: Record) -> Record | None:
        old = self.get_many([address]).get(address)
        self.put_many([(address, record)])
        return old  # lets the repository delete an S3 overflow object the old item named

    def get(self, address: Address) -> Record:
        found = self.get_many([address]).get(address)
        if found is None:
            raise NoItemFound(f"no payload at {address.describe(self.backend)}")
        return found

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        rows = [(*_key(a), *_columns(r)) for a, r in entries]
        with self._lock, self._db:
            self._db.executemany(f"REPLACE INTO payloads VALUES ({', '.join('?' * 12)})", rows)

    def get_many(
        self, addresses: Sequence[Address], *, max_bytes: Mapping[Address, int] | None = None
    ) -> dict[Address, Record]:
        # max_bytes may be ignored by a store that cannot tell a size before reading: the
        # repository checks every size after the read.
        found = {}
        with self._lock:
            for address in dict.fromkeys(addresses):
                row = self._db.execute(
                    f"SELECT {_COLUMNS} FROM payloads WHERE container=? AND key=? AND idx=?",
                    _key(address),
                ).fetchone()
                if row is not None:
                    found[address] = _record(row)
        return found

    def delete_many(self, addresses: Sequence[Address]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "DELETE FROM payloads WHERE container=? AND key=? AND idx=?",
                [_key(a) for a in addresses],
            )

    def query(
        self,
        table: str,
        partition_key: str,
        *,
        keys_only: bool = False,
        below: int | None = None,
        max_bytes: int | None = None,  # the repository checks what comes back
    ) -> list[tuple[int, Record]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM payloads WHERE container=? AND key=? AND idx<? "
                "ORDER BY idx",
                (table, partition_key, 2**63 - 1 if below is None else below),
            ).fetchall()
        return [(row[2], _record(row)) for row in rows]


def _key(address: Address) -> tuple[str, str, int]:
    return address.container, address.key, address.index


def _columns(r: Record) -> tuple[object, ...]:
    redirect = (r.redirect.container, r.redirect.key) if r.redirect else (None, None)
    member = f"{r.member.root} {r.member.count} {r.member.proof}" if r.member else None
    return (r.body, r.encoding, r.sha256, r.size, *redirect, r.expires_at, member, r.tag)


def _record(row: tuple[object, ...]) -> Record:
    _, _, index, body, encoding, sha256, size, r_container, r_key, expires_at, member, tag = row
    redirect = Address(str(r_container), str(r_key), int(index)) if r_key is not None else None
    list_of = None
    if isinstance(member, str):  # (lists written by 0.1.0) the list's root, length, the proof
        root, count, proof = (member + " ").split(" ")[:3]
        list_of = Membership(root, int(count), proof)
    return Record(body, str(encoding), sha256, size, redirect, expires_at, list_of, tag)  # type: ignore[arg-type]


# --8<-- [end:store]


def demo() -> dict[str, object]:
    """Plug the store in and run a decorated handler on it."""
    from sfn_offload import hydrate

    # --8<-- [start:plug]
    from sfn_offload import OffloadConfig, state_offload
    from sfn_offload.storage import PayloadRepository

    repository = PayloadRepository(
        OffloadConfig(table="state", bucket="state-bucket"),
        dynamodb=SqliteStore(),  # or SqliteStore("payloads.db") to keep them
        s3=SqliteStore(backend="s3"),
    )

    @state_offload(repository=repository)
    def handler(event, context):  # type: ignore[no-untyped-def]
        return {"status": "ok", "rows": [{"id": i} for i in range(50_000)]}

    state = handler({}, None)  # "rows" is now a pointer into SQLite
    # --8<-- [end:plug]
    return {"state": state, "rows": hydrate(state, repository)["rows"]}
