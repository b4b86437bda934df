"""monthly_bar_svg: a readable, accessible bar chart of monthly counts."""

import re
import xml.etree.ElementTree as ET
from datetime import date

from refnet.partners.charts import monthly_bar_svg

SVG = "{http://www.w3.org/2000/svg}"
COUNTS = [(date(2024, 11, 1), 2), (date(2024, 12, 1), 0), (date(2025, 1, 1), 4),
          (date(2025, 2, 1), 1)]


def bars(svg: str) -> dict[str, tuple[int, float]]:
    """{"2025-01": (count label, bar height)} read back from the markup."""
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter(f"{SVG}g"):
        value = g.find(f"{SVG}text[@class='value']").text
        found[g.get("data-month")] = (int(value), float(g.find(f"{SVG}rect").get("height")))
    return found


def test_is_well_formed_svg_with_an_accessible_name_and_description():
    svg = monthly_bar_svg(COUNTS)

    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Referrals per month"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id
    assert desc.text == ("7 referrals in total from November 2024 to February 2025; "
                         "the most in January 2025 (4).")


def test_each_month_has_a_bar_value_label_and_month_label_zeros_included():
    svg = monthly_bar_svg(COUNTS)

    found = bars(svg)
    assert list(found) == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert [v for v, _ in found.values()] == [2, 0, 4, 1]
    labels = re.findall(r'class="label"[^>]*>(\w+)<', svg)
    assert labels == ["Nov", "Dec", "Jan", "Feb"]
    # Years under the first month and under each January.
    assert re.findall(r'class="year"[^>]*>(\d+)<', svg) == ["2024", "2025"]
    assert "<title>Jan 2025: 4 referrals</title>" in svg
    assert "<title>Feb 2025: 1 referral</title>" in svg


def test_bar_heights_are_proportional_and_small_counts_stay_visible():
    found = bars(monthly_bar_svg([(date(2025, m, 1), n) for m, n in
                                  [(1, 200), (2, 100), (3, 0), (4, 1)]]))

    heights = [h for _, h in found.values()]
    assert heights[0] == 2 * heights[1]
    assert heights[2] == 0
    assert heights[3] >= 1


def test_all_zero_months_say_so():
    svg = monthly_bar_svg([(date(2025, 1, 1), 0), (date(2025, 2, 1), 0)])

    assert "<desc" in svg and "No referrals from January 2025 to February 2025." in svg
    assert [h for _, h in bars(svg).values()] == [0, 0]


def test_title_text_is_escaped():
    svg = monthly_bar_svg(COUNTS, title='Referrals from <Smith & "Sons">')

    assert ET.fromstring(svg).find(f"{SVG}title").text == 'Referrals from <Smith & "Sons">'
    assert "<Smith" not in svg


def test_no_months_still_renders():
    root = ET.fromstring(monthly_bar_svg([]))

    assert root.find(f"{SVG}desc").text == "No data."
