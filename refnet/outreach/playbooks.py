"""The playbooks refnet starts with, one or more per local-business category (PRODUCT.md).
Seeded by migration 0002; a practice edits or adds its own afterwards."""

def _s(offset_days: int, summary: str) -> dict:
    return {"offset_days": offset_days, "summary": summary, "who": "owner"}


DEFAULT_PLAYBOOKS: list[dict] = [
    {
        "name": "Talk at a gym for its trainers",
        "category": "gym_trainer", "event_kind": "talk", "default_cost": "150.00",
        "duration_minutes": 60,
        "description": "A 30-minute talk for the trainers at one gym (common injuries, when "
                       "to send a client to us, what we do and don't do), then questions. "
                       "Bring handouts and a snack.",
        "steps": [
            _s(-28, "Ask the gym manager for a date and how many trainers work there"),
            _s(-21, "Send the invitations to the trainers"),
            _s(-3, "Confirm the room, the projector and the headcount; print handouts"),
            _s(0, "Give the talk and record who came"),
            _s(2, "Thank the trainers and send the slides"),
            _s(30, "Check in with the gym manager: questions from clients since the talk?"),
        ],
    },
    {
        "name": "Session for teachers",
        "category": "school_teacher", "event_kind": "lunch_and_learn",
        "default_cost": "300.00", "duration_minutes": 45,
        "description": "A lunch-and-learn for teachers and coaches at one school: posture, "
                       "sports injuries, concussion signs, and how a parent reaches us.",
        "steps": [
            _s(-30, "Ask the principal or athletic director for a staff-meeting slot"),
            _s(-21, "Send the invitations to the teachers"),
            _s(-2, "Order lunch for the headcount; print take-home sheets for parents"),
            _s(0, "Hold the session and record who came"),
            _s(3, "Thank the staff; send the parent sheet as a PDF"),
            _s(45, "Check in with the school: anything we can help with this term?"),
        ],
    },
    {
        "name": "Store manager tour of the clinic",
        "category": "shop", "event_kind": "tour", "default_cost": "50.00",
        "duration_minutes": 45,
        "description": "Invite a store manager (running, outdoor, shoe or medical-supply "
                       "store) to tour the clinic and meet a clinician, so their staff know "
                       "who to suggest.",
        "steps": [
            _s(-14, "Invite the store manager and agree a time"),
            _s(-1, "Tell the front desk and the clinician on shift who is coming"),
            _s(0, "Give the tour and record who came"),
            _s(2, "Thank the manager; drop off cards for the counter"),
            _s(30, "Check in: did customers ask about us?"),
        ],
    },
    {
        "name": "Dinner for several retailers with a short presentation and Q&A",
        "category": "shop", "event_kind": "dinner", "default_cost": "1200.00",
        "duration_minutes": 120,
        "description": "Dinner for owners and managers of several local stores: a "
                       "15-minute presentation on what we treat and how referring works, "
                       "then questions over dinner.",
        "steps": [
            _s(-35, "Book the restaurant's private room"),
            _s(-28, "Send the invitations"),
            _s(-7, "Call those who have not answered"),
            _s(-2, "Confirm the headcount with the restaurant; finish the slides"),
            _s(0, "Host the dinner and record who came"),
            _s(2, "Thank each guest; send the slides"),
            _s(60, "Check in with each store that came"),
        ],
    },
    {
        "name": "Join the chamber of commerce",
        "category": "chamber", "event_kind": "chamber_meeting", "default_cost": "450.00",
        "duration_minutes": 90,
        "description": "Join the local chamber (the cost is the year's dues) and go to its "
                       "next members' meeting to meet business leaders.",
        "steps": [
            _s(-21, "Apply for membership and pay the dues"),
            _s(-7, "Ask for a 2-minute introduction slot at the meeting"),
            _s(0, "Attend the meeting; collect cards; record who you met"),
            _s(3, "Follow up with the people you met"),
            _s(30, "Put the next chamber meeting in the calendar"),
        ],
    },
    {
        "name": "Open house for realtors",
        "category": "realtor", "event_kind": "open_house", "default_cost": "250.00",
        "duration_minutes": 90,
        "description": "An open house at the clinic for agents at a local brokerage: a "
                       "welcome packet for the families they move into town.",
        "steps": [
            _s(-21, "Ask the brokerage's office manager for a date"),
            _s(-14, "Send the invitations to the agents"),
            _s(-2, "Print welcome packets; order refreshments"),
            _s(0, "Host the open house and record who came"),
            _s(2, "Thank the agents; leave packets at the brokerage"),
            _s(60, "Check in with the office manager"),
        ],
    },
    {
        "name": "Injury-prevention clinic for a sports club or yoga studio",
        "category": "sports_yoga", "event_kind": "talk", "default_cost": "200.00",
        "duration_minutes": 60,
        "description": "A hands-on session for the coaches or instructors of a club or "
                       "studio: warm-ups, common injuries, and when to refer.",
        "steps": [
            _s(-21, "Agree a date with the club or studio owner"),
            _s(-14, "Send the invitations to the coaches or instructors"),
            _s(0, "Run the session and record who came"),
            _s(2, "Thank them; send the warm-up sheet"),
            _s(30, "Check in with the owner"),
        ],
    },
    {
        "name": "Lunch-and-learn for a local business",
        "category": "other", "event_kind": "lunch_and_learn", "default_cost": "250.00",
        "duration_minutes": 45,
        "description": "Lunch and a short talk for the staff of a local business or "
                       "community group.",
        "steps": [
            _s(-21, "Agree a date with the organizer"),
            _s(-14, "Send the invitations"),
            _s(0, "Hold the lunch-and-learn and record who came"),
            _s(2, "Thank the organizer and the staff"),
        ],
    },
]


def playbooks_ensure() -> int:
    """Add any default playbook that is missing (by name); returns how many were added.
    The demo calls it: a demo reset empties every refnet table, playbooks included."""
    from decimal import Decimal

    from .models import Playbook

    added = 0
    for spec in DEFAULT_PLAYBOOKS:
        fields = dict(spec, default_cost=Decimal(spec["default_cost"]))
        name = fields.pop("name")
        added += Playbook.objects.get_or_create(name=name, defaults=fields)[1]
    return added
