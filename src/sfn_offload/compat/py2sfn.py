"""``StateDataClient``: the explicit py2sfn-task-tools API, drop-in, with its bugs fixed.

Same method names, positional order, defaults and return keys as py2sfn-task-tools 1.0.2 (return
dicts gain additive fields). Local methods address ``f"{namespace}:{key}"`` in the default table;
global methods take a table and a full partition key. Each operation is written once; the local
and global names are thin aliases.

Fixed predecessor bugs: ``put_global_items`` writes to (and names) the table it is given;
``put_items`` removes higher indices left by a longer earlier list; ``get_items`` reads
consistently and refuses gaps; replaced S3 overflow objects are deleted and carry the TTL as
metadata; no region, client or bucket is needed at import; throttling is retried with jitter and
retried ``put_items`` skip elements already written; payloads carry size and SHA-256 and are stored
as compact UTF-8 JSON (NaN refused); S3 transfers run concurrently and clients are reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._aws import AwsClients
from .._config import OffloadConfig
from ..errors import ConfigurationError, NoItemFound, PointerError, StateDataClientError
from ..storage.repository import PayloadRepository
from ..wire.pointer import Pointer
from ..wire.references import MapIteration, parse_index, parse_map_iteration

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "MapIteration",
    "NoItemFound",
    "StateDataClient",
    "StateDataClientError",
    "parse_map_iteration",
]


class StateDataClient:
    """Store and load state data explicitly (the py2sfn-task-tools API).

    Args:
        default_table_name: the DynamoDB table of local items (``SFN_OFFLOAD_TABLE`` if None).
        namespace: prefix of local partition keys, usually the execution name.
        ttl_days: days before items expire (default 7, or ``SFN_OFFLOAD_TTL_DAYS``).
        s3_bucket: bucket for payloads over the item budget (default ``SFN_OFFLOAD_BUCKET`` or
            ``SFN_DATA_S3_BUCKET``, read when the client is built, not at import).

    Keyword-only: ``config`` (an :class:`OffloadConfig` to start from), ``boto3_session``,
    ``boto_config``, ``dynamodb_client``, ``s3_client`` (injected clients are used as they are),
    or a ready ``repository`` (shared with the decorator); ``legacy_namespace``: where local
    reads look when ``namespace`` has nothing (the decorator's client writes under the
    execution's unique namespace and still reads what py2sfn-task-tools wrote under the bare
    execution name).

    >>> from sfn_offload.storage.memory import MemoryStore
    >>> repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=MemoryStore())
    >>> client = StateDataClient("state", "run-1", repository=repo)
    >>> client.put_item("characters", {"name": "jerry"})["partition_key"]
    'run-1:characters'
    >>> client.get_item("characters")
    {'name': 'jerry'}
    """

    def __init__(
        self,
        default_table_name: str | None = None,
        namespace: str = "",
        ttl_days: int | None = None,
        s3_bucket: str | None = None,
        *,
        config: OffloadConfig | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        s3_client: S3Client | None = None,
        repository: PayloadRepository | None = None,
        legacy_namespace: str | None = None,
    ) -> None:
        base = repository.config if repository is not None else config or OffloadConfig.from_env()
        changes: dict[str, Any] = {}
        if default_table_name is not None and default_table_name != base.table:
            changes["table"] = default_table_name
        if ttl_days is not None and ttl_days != base.ttl_days:
            changes["ttl_days"] = ttl_days
        if s3_bucket is not None and s3_bucket != base.bucket:
            changes["bucket"] = s3_bucket
        cfg = base.replace(**changes) if changes else base
        if repository is None or changes:
            clients = (
                repository.clients
                if repository is not None
                else AwsClients(
                    boto3_session=boto3_session,
                    boto_config=boto_config,
                    dynamodb_client=dynamodb_client,
                    s3_client=s3_client,
                    endpoint_urls=cfg.endpoint_urls,
                    max_pool_connections=cfg.max_workers,
                )
            )
            repository = PayloadRepository(
                cfg,
                clients=clients,
                dynamodb=repository.dynamodb if repository is not None else None,
                s3=repository.s3 if repository is not None else None,
            )
        self._repo = repository
        self.namespace = namespace
        self.legacy_namespace = legacy_namespace if legacy_namespace != namespace else None
        self.default_table_name = cfg.table or ""
        self.ttl_days = cfg.ttl_days

    @property
    def repository(self) -> PayloadRepository:
        """The repository doing the work (for advanced use and tests)."""
        return self._repo

    @property
    def s3_bucket(self) -> str | None:
        """The configured overflow bucket name."""
        return self._repo.config.bucket

    def _partition_key(self, key: str) -> str:
        if not isinstance(key, str) or not key:
            raise PointerError(f"key must be a non-empty string, got {key!r}")
        return f"{self.namespace}:{key}"

    def _table(self, table_name: str | None = None) -> str:
        table = table_name or self.default_table_name
        if not table:
            raise ConfigurationError(
                "StateDataClient has no default table: pass default_table_name or set "
                "SFN_OFFLOAD_TABLE"
            )
        return table

    # -- one operation each, written once --------------------------------------------------

    def _put(self, table: str, partition_key: str, data: Any, index: object) -> dict[str, Any]:
        idx = parse_index(index)
        where = f"dynamodb table {table!r} partition_key {partition_key!r} index {idx}"
        pointer = self._repo.write_item(
            table, partition_key, idx, self._repo.encode(data, where=where)
        )
        return {
            "table_name": table,
            "partition_key": partition_key,
            # additive: what was stored, for logs and verification
            "index": idx,
            "size": pointer.size,
            "sha256": pointer.sha256,
        }

    def _get(
        self,
        table: str,
        partition_key: str,
        index: object,
        *,
        trusted: bool = True,
        element: bool = False,
    ) -> Any:
        pointer = Pointer("dynamodb", table, partition_key, parse_index(index))
        # A Map iteration reads an element of a list: its proof page comes in the same request.
        lists = [Pointer("dynamodb", table, partition_key)] if element else None
        return self._repo.load_many([pointer], trusted=trusted, lists=lists).values[0]

    def _put_many(self, table: str, partition_key: str, items: Sequence[Any]) -> dict[str, Any]:
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise PointerError(f"items must be a list, got {type(items).__name__}")
        encoded = [
            self._repo.encode(
                item, where=f"element {i} of the list for partition_key {partition_key!r}"
            )
            for i, item in enumerate(items)
        ]
        root = self._repo.write_items(table, partition_key, encoded)
        return {
            "table_name": table,
            "partition_key": partition_key,
            "items": [1] * len(items),
            "sha256": root,  # additive: the list's digest (sfn_offload.wire.merkle)
        }

    # -- local (namespace-scoped, default table) ---------------------------------------------

    def put_item(self, key: str, data: Any, index: int = 0) -> dict[str, Any]:
        """Store ``data`` under ``key`` (and ``index``); returns where it went."""
        result = self._put(self._table(), self._partition_key(key), data, index)
        result["key"] = key
        return result

    def get_item(self, key: str, index: int = 0) -> Any:
        """Load what :meth:`put_item`/:meth:`put_items` stored under ``key``/``index``."""
        return self._get_local(key, index)

    def _get_local(self, key: str, index: object, *, element: bool = False) -> Any:
        try:
            return self._get(self._table(), self._partition_key(key), index, element=element)
        except NoItemFound:
            if self.legacy_namespace is None:
                raise
            legacy_key = f"{self.legacy_namespace}:{key}"
            return self._get(self._table(), legacy_key, index, element=element)

    def put_items(self, key: str, items: Sequence[Any]) -> dict[str, Any]:
        """Store a list element by element for a Map state; ``items`` in the result is the
        placeholder list (``[1] * n``) to use as the Map state's ``ItemsPath``."""
        result = self._put_many(self._table(), self._partition_key(key), items)
        result["key"] = key
        return result

    def get_items(self, key: str) -> list[Any]:
        """The whole list stored under ``key``, in index order."""
        found = self._repo.read_partition(self._table(), self._partition_key(key))
        if not found and self.legacy_namespace is not None:
            return self._repo.read_partition(self._table(), f"{self.legacy_namespace}:{key}")
        return found

    def put_item_for_map_iteration(self, event: Mapping[str, Any], item: Any) -> dict[str, Any]:
        """Store ``item`` at this iteration's index of the local list the event names."""
        it = parse_map_iteration(event)
        assert it.key is not None
        return self.put_item(it.key, item, it.index)

    def get_item_for_map_iteration(self, event: Mapping[str, Any]) -> Any:
        """Load this iteration's element of the local list the event names."""
        it = parse_map_iteration(event)
        assert it.key is not None
        return self._get_local(it.key, it.index, element=True)

    # -- global (explicit table and full partition key) ------------------------------------

    def put_global_item(
        self, table_name: str, partition_key: str, data: Any, index: int = 0
    ) -> dict[str, Any]:
        """Store ``data`` at an explicit table/partition key (and ``index``)."""
        return self._put(self._table(table_name), partition_key, data, index)

    def get_global_item(self, table_name: str, partition_key: str, index: int = 0) -> Any:
        """Load from an explicit table/partition key (and ``index``)."""
        return self._get(self._table(table_name), partition_key, index)

    def put_global_items(
        self, table_name: str, partition_key: str, items: Sequence[Any]
    ) -> dict[str, Any]:
        """Store a list element by element at an explicit table/partition key."""
        return self._put_many(self._table(table_name), partition_key, items)

    def get_global_items(self, table_name: str, partition_key: str) -> list[Any]:
        """The whole list at an explicit table/partition key, in index order."""
        return self._repo.read_partition(self._table(table_name), partition_key)

    def put_global_item_for_map_iteration(
        self, event: Mapping[str, Any], item: Any
    ) -> dict[str, Any]:
        """Store ``item`` at this iteration's index of the list the event names (any table
        on the allow-list)."""
        it = self._global_iteration(event)
        return self.put_global_item(it.table or "", it.partition_key or "", item, it.index)

    def get_global_item_for_map_iteration(self, event: Mapping[str, Any]) -> Any:
        """Load this iteration's element of the list the event names (any table on the
        allow-list)."""
        it = self._global_iteration(event)
        return self._get(
            self._table(it.table), it.partition_key or "", it.index, trusted=False, element=True
        )

    def _global_iteration(self, event: Mapping[str, Any]) -> MapIteration:
        it = parse_map_iteration(event, need="global")
        # The table comes from state data, not from code: it must be on the allow-list.
        probe = Pointer("dynamodb", it.table or "", it.partition_key or "", it.index)
        self._repo.check_allowed(probe, "Map-iteration event")
        return it
