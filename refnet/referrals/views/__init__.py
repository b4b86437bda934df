"""Referral views: intake (the front desk's page) and pipeline (list, board, detail, patients)."""
