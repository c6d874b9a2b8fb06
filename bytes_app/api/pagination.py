from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=N&page_size=M`; the page size is capped so a client cannot ask for everything."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
