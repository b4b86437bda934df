"""The NinjaAPI instance; routers for each resource are added here."""

from ninja import NinjaAPI

api = NinjaAPI(title="refnet API", version="1", urls_namespace="api")
