"""Checks that the PostgreSQL database and the Redis the tests use are reachable.

Exit status: 0 ready; 10 a server is unreachable; 11 PostgreSQL is up but the test
database does not exist. Used by scripts/test.sh.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import database_url, redis_url


def main() -> int:
    try:
        client = redis.Redis.from_url(redis_url(), socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        print(f"ml-gateway test: Redis not reachable: {exc}", file=sys.stderr)  # noqa: T201
        return 10
    try:
        psycopg.connect(database_url(), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            return 11
        print(f"ml-gateway test: PostgreSQL not reachable: {exc}", file=sys.stderr)  # noqa: T201
        return 10
    return 0


if __name__ == "__main__":
    sys.exit(main())
