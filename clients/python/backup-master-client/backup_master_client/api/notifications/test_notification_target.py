from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.test_outcome import TestOutcome
from ...types import Response


def _get_kwargs(
    name: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/notification-targets/{name}/test".format(
            name=quote(str(name), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TestOutcome | None:
    if response.status_code == 200:
        response_200 = TestOutcome.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | TestOutcome]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | TestOutcome]:
    """Send a test notification

     Sends a `test` event to target `{name}` now, once (no retry), and answers with the outcome
    within the target's `timeout_seconds`: `ok`, the HTTP status (webhook, ping) or the SMTP
    reply (email), the latency, and the error when it failed. A refused or failed send is
    still a 200: the outcome says what happened. Recorded as a delivery. Admin.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestOutcome]
    """

    kwargs = _get_kwargs(
        name=name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Problem | TestOutcome | None:
    """Send a test notification

     Sends a `test` event to target `{name}` now, once (no retry), and answers with the outcome
    within the target's `timeout_seconds`: `ok`, the HTTP status (webhook, ping) or the SMTP
    reply (email), the latency, and the error when it failed. A refused or failed send is
    still a 200: the outcome says what happened. Recorded as a delivery. Admin.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestOutcome
    """

    return sync_detailed(
        name=name,
        client=client,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | TestOutcome]:
    """Send a test notification

     Sends a `test` event to target `{name}` now, once (no retry), and answers with the outcome
    within the target's `timeout_seconds`: `ok`, the HTTP status (webhook, ping) or the SMTP
    reply (email), the latency, and the error when it failed. A refused or failed send is
    still a 200: the outcome says what happened. Recorded as a delivery. Admin.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestOutcome]
    """

    kwargs = _get_kwargs(
        name=name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Problem | TestOutcome | None:
    """Send a test notification

     Sends a `test` event to target `{name}` now, once (no retry), and answers with the outcome
    within the target's `timeout_seconds`: `ok`, the HTTP status (webhook, ping) or the SMTP
    reply (email), the latency, and the error when it failed. A refused or failed send is
    still a 200: the outcome says what happened. Recorded as a delivery. Admin.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestOutcome
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
        )
    ).parsed
