from refnet.accounts.permissions import Cap, requires


def _todo(request, *args, **kwargs):
    raise NotImplementedError


partner_list = requires(Cap.PARTNERS_VIEW)(_todo)
partner_create_view = partner_detail = partner_edit = contact_add = partner_merge_view = partner_list
