from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.drill_event_message import DrillEventMessage
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/drills/{id}/events".format(
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DrillEventMessage | Problem | None:
    if response.status_code == 200:
        response_200 = DrillEventMessage.from_dict(response.text)

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DrillEventMessage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[DrillEventMessage | Problem]:
    """Follow a restore drill (server-sent events)

     A `text/event-stream` of the drill: `component` events (a component's result so far, at
    each change), `probe_output` events (a line of a probe's output, as the probe prints it),
    and `end` with the final status, the last event. A finished drill answers with its
    components and `end` at once (its probes' output is in each component's `probe`).
    At most `max_stream_subscribers` clients follow one drill: 429 past it. Any role.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillEventMessage | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
) -> DrillEventMessage | Problem | None:
    """Follow a restore drill (server-sent events)

     A `text/event-stream` of the drill: `component` events (a component's result so far, at
    each change), `probe_output` events (a line of a probe's output, as the probe prints it),
    and `end` with the final status, the last event. A finished drill answers with its
    components and `end` at once (its probes' output is in each component's `probe`).
    At most `max_stream_subscribers` clients follow one drill: 429 past it. Any role.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillEventMessage | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[DrillEventMessage | Problem]:
    """Follow a restore drill (server-sent events)

     A `text/event-stream` of the drill: `component` events (a component's result so far, at
    each change), `probe_output` events (a line of a probe's output, as the probe prints it),
    and `end` with the final status, the last event. A finished drill answers with its
    components and `end` at once (its probes' output is in each component's `probe`).
    At most `max_stream_subscribers` clients follow one drill: 429 past it. Any role.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillEventMessage | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
) -> DrillEventMessage | Problem | None:
    """Follow a restore drill (server-sent events)

     A `text/event-stream` of the drill: `component` events (a component's result so far, at
    each change), `probe_output` events (a line of a probe's output, as the probe prints it),
    and `end` with the final status, the last event. A finished drill answers with its
    components and `end` at once (its probes' output is in each component's `probe`).
    At most `max_stream_subscribers` clients follow one drill: 429 past it. Any role.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillEventMessage | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
