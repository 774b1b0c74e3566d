"""A Python client of Corroborate's GraphQL API with gql: a country's figures over HTTP, and
checkpoints as the log signs them over graphql-transport-ws.

    pip install 'gql[httpx,websockets]==4.4.0'     (or: pip install -e '.[examples]')
    python examples/python/corroborate_client.py figures ITA 2020-06-01 2020-06-30
    python examples/python/corroborate_client.py checkpoints 3

``CORROBORATE_URL`` names the API (default http://127.0.0.1:8000/graphql, ``make run``'s). Every
operation is validated against the repository's schema.graphql before it is sent, so a query
that no longer fits the schema fails here, not on the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

URL = os.environ.get("CORROBORATE_URL", "http://127.0.0.1:8000/graphql")
SCHEMA = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()

COUNTRY_FIGURES = gql(
    """
    query CountryFigures($region: String!, $from: Date!, $to: Date!) {
      figures(region: $region, metric: CASES_CUMULATIVE, from: $from, to: $to, first: 31) {
        totalCount
        nodes { date value status inputs { publisher { slug } value } }
      }
    }
    """
)

CHECKPOINTS = gql("subscription Checkpoints { checkpointAdvanced { size rootHash signedAt } }")


async def figures(region: str, start: str, end: str) -> dict[str, Any]:
    """The figures of ``region`` from ``start`` to ``end`` (dates as YYYY-MM-DD)."""
    request = GraphQLRequest(
        COUNTRY_FIGURES, variable_values={"region": region, "from": start, "to": end}
    )
    async with Client(transport=HTTPXAsyncTransport(url=URL), schema=SCHEMA) as session:
        return await session.execute(request)


async def checkpoints(count: int) -> list[dict[str, Any]]:
    """The next ``count`` checkpoints the log signs (a subscription sees what comes after it
    starts: fetch the current state with a query first)."""
    transport = WebsocketsTransport(
        url=URL.replace("http", "ws", 1),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    seen: list[dict[str, Any]] = []
    async with Client(transport=transport, schema=SCHEMA) as session:
        async for result in session.subscribe(CHECKPOINTS):
            checkpoint = result["checkpointAdvanced"]
            print(
                f"checkpoint {checkpoint['size']} {checkpoint['rootHash']} {checkpoint['signedAt']}",
                flush=True,
            )
            seen.append(checkpoint)
            if len(seen) >= count:
                break
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    country = commands.add_parser("figures", help="a country's cumulative cases over a period")
    country.add_argument("region", nargs="?", default="ITA")
    country.add_argument("start", nargs="?", default="2020-06-01")
    country.add_argument("end", nargs="?", default="2020-06-30")
    follow = commands.add_parser("checkpoints", help="wait for the next COUNT checkpoints")
    follow.add_argument("count", nargs="?", type=int, default=1)
    args = parser.parse_args()
    if args.command == "figures":
        data = asyncio.run(figures(args.region, args.start, args.end))
        for figure in data["figures"]["nodes"]:
            inputs = " ".join(f"{i['publisher']['slug']}={i['value']}" for i in figure["inputs"])
            print(f"{figure['date']} {figure['value']} {figure['status']} {inputs}")
        print(f"{data['figures']['totalCount']} figures")
    else:
        asyncio.run(checkpoints(args.count))


if __name__ == "__main__":
    main()
