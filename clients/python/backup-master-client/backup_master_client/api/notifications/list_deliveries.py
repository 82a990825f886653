from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.delivery_page import DeliveryPage
from ...models.delivery_status import DeliveryStatus
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    target: str | Unset = UNSET,
    status: DeliveryStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["target"] = target

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/notifications/deliveries",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DeliveryPage | Problem | None:
    if response.status_code == 200:
        response_200 = DeliveryPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DeliveryPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    target: str | Unset = UNSET,
    status: DeliveryStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[DeliveryPage | Problem]:
    """The notification deliveries

     Each event sent to each target whose matcher took it, newest first: `pending` (waiting
    for its next attempt: a 5xx, timeout or connection error is retried with backoff for 24
    hours), `delivered`, or `failed` (refused with a 4xx or a permanent SMTP reply, or still
    failing after 24 hours), with its attempts, the last HTTP status or SMTP reply and error,
    and the event. The newest 1000 are kept, also across restarts. Admin.

    Args:
        target (str | Unset):
        status (DeliveryStatus | Unset): Where a delivery stands.
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeliveryPage | Problem]
    """

    kwargs = _get_kwargs(
        target=target,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    target: str | Unset = UNSET,
    status: DeliveryStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> DeliveryPage | Problem | None:
    """The notification deliveries

     Each event sent to each target whose matcher took it, newest first: `pending` (waiting
    for its next attempt: a 5xx, timeout or connection error is retried with backoff for 24
    hours), `delivered`, or `failed` (refused with a 4xx or a permanent SMTP reply, or still
    failing after 24 hours), with its attempts, the last HTTP status or SMTP reply and error,
    and the event. The newest 1000 are kept, also across restarts. Admin.

    Args:
        target (str | Unset):
        status (DeliveryStatus | Unset): Where a delivery stands.
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeliveryPage | Problem
    """

    return sync_detailed(
        client=client,
        target=target,
        status=status,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    target: str | Unset = UNSET,
    status: DeliveryStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[DeliveryPage | Problem]:
    """The notification deliveries

     Each event sent to each target whose matcher took it, newest first: `pending` (waiting
    for its next attempt: a 5xx, timeout or connection error is retried with backoff for 24
    hours), `delivered`, or `failed` (refused with a 4xx or a permanent SMTP reply, or still
    failing after 24 hours), with its attempts, the last HTTP status or SMTP reply and error,
    and the event. The newest 1000 are kept, also across restarts. Admin.

    Args:
        target (str | Unset):
        status (DeliveryStatus | Unset): Where a delivery stands.
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeliveryPage | Problem]
    """

    kwargs = _get_kwargs(
        target=target,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    target: str | Unset = UNSET,
    status: DeliveryStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> DeliveryPage | Problem | None:
    """The notification deliveries

     Each event sent to each target whose matcher took it, newest first: `pending` (waiting
    for its next attempt: a 5xx, timeout or connection error is retried with backoff for 24
    hours), `delivered`, or `failed` (refused with a 4xx or a permanent SMTP reply, or still
    failing after 24 hours), with its attempts, the last HTTP status or SMTP reply and error,
    and the event. The newest 1000 are kept, also across restarts. Admin.

    Args:
        target (str | Unset):
        status (DeliveryStatus | Unset): Where a delivery stands.
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeliveryPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            target=target,
            status=status,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
