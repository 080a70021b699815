"""Pages of the list endpoints: their query parameters (`page_size` 1..500, default 50;
`page_token`) and their answer."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from gateway.schemas.common import Page
from pclib.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

Item = TypeVar("Item")


@dataclass(frozen=True)
class PageQuery:
    page_size: int
    page_token: str


async def page_query(
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    page_token: Annotated[str, Query(description="next_page_token of the previous page")] = "",
) -> PageQuery:
    return PageQuery(page_size, page_token)


Paging = Annotated[PageQuery, Depends(page_query)]


def page(items: Iterable[Item], next_page_token: str = "") -> Page[Item]:
    """A page of the answer; the upstream's empty token (the last page) is JSON null."""
    return Page(items=list(items), next_page_token=next_page_token or None)
