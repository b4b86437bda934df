"""Charts: one ChartSpec, an SVG that parses and says what it shows, and email HTML."""

import xml.etree.ElementTree as ET

import pytest

from refnet.reports.charts import ChartSpec, Series, chart_html, chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize("kind", ["bar", "stacked", "line"])
def test_svg_parses_with_title_labels_and_marks(kind):
    spec = ChartSpec(kind=kind, title="Referrals <by> month", labels=["Jan", "Feb", "Mar"],
                     series=[Series("Received", [3, 0, 5]), Series("Won", [1, 0, 2])],
                     unit="referrals")
    root = _parse(chart_svg(spec))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Referrals <by> month"  # escaped, then parsed
    assert "Mar" in root.find(f"{SVG}desc").text
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Jan", "Feb", "Mar", "Received", "Won"} <= set(texts)
    marks = list(root.iter(f"{SVG}circle" if kind == "line" else f"{SVG}rect"))
    titles = [m.find(f"{SVG}title").text for m in marks if m.find(f"{SVG}title") is not None]
    assert "Received, Mar: 5 referrals" in titles
    assert "<script" not in chart_svg(spec) and "http://" not in chart_svg(spec).replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_bar_heights_are_proportional():
    spec = ChartSpec(kind="bar", title="t", labels=["a", "b"], series=[Series("n", [2, 4])])
    bars = [r for r in _parse(chart_svg(spec)).iter(f"{SVG}rect")
            if r.get("class") == "bar"]
    h = [float(b.get("height")) for b in bars]
    assert h[1] == pytest.approx(2 * h[0])


def test_long_labels_are_drawn_horizontally_and_hostile_text_is_escaped():
    name = 'Dr. "Evil" <script>alert(1)</script> & Sons'
    spec = ChartSpec(kind="bar", title="Top referrers", labels=[name, "Iron Gym of Springfield"],
                     series=[Series("This period", [7, 3])])
    svg = chart_svg(spec)
    assert "<script>" not in svg
    root = _parse(svg)
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "group"]
    assert groups[0].get("data-label") == name
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert float(bars[0].get("width")) > float(bars[1].get("width"))


def test_empty_chart_and_mismatched_series():
    root = _parse(chart_svg(ChartSpec(kind="bar", title="Nothing", labels=[], series=[])))
    assert root.find(f"{SVG}desc").text == "No data."
    with pytest.raises(ValueError):
        ChartSpec(kind="bar", title="t", labels=["a"], series=[Series("n", [1, 2])])
    with pytest.raises(ValueError):
        ChartSpec(kind="pie", title="t", labels=[], series=[])


def test_email_html_is_inline_styled_bars_with_the_numbers():
    spec = ChartSpec(kind="stacked", title="Follow-ups <by> owner", labels=["Cora", "Mona"],
                     series=[Series("On time", [2, 0]), Series("Late", [1, 1])])
    html = chart_html(spec)
    assert "<svg" not in html and "class=" not in html and "<script" not in html
    assert "Follow-ups &lt;by&gt; owner" in html
    assert "Cora" in html and ">3<" in html  # Cora's total
    single = chart_html(ChartSpec(kind="bar", title="t", labels=["a"],
                                  series=[Series("n", [5])], unit="days"))
    assert "5 days" in single and "background:" in single
