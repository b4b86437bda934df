from .permissions import Cap, has_cap


def capabilities(request):
    """`can.intake`, `can.clinical_view`, ... in every template, for menus and field hiding."""
    user = getattr(request, "user", None)
    return {"can": {c.name.lower(): has_cap(user, c) for c in Cap}}
