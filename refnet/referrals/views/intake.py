from refnet.accounts.permissions import Cap, requires


def _todo(request, *args, **kwargs):
    raise NotImplementedError


intake = requires(Cap.INTAKE)(_todo)
patient_search_options = source_search_options = intake
