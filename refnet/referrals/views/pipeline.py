from refnet.accounts.permissions import Cap, requires


def _todo(request, *args, **kwargs):
    raise NotImplementedError


referral_list = requires(Cap.REFERRALS_VIEW)(_todo)
referral_board = referral_detail = referral_transition_view = referral_list
referral_resolve_source_view = patient_detail = referral_list
