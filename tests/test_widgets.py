"""refnet.widgets.Select draws exactly what Django's own Select draws."""

from django import forms

from refnet.widgets import Select


def both(field_kwargs: dict, data: dict | None = None, name: str = "pick") -> tuple[str, str]:
    class Ours(forms.Form):
        pass

    class Djangos(forms.Form):
        pass

    Ours.base_fields[name] = forms.ChoiceField(widget=Select, **field_kwargs)
    Djangos.base_fields[name] = forms.ChoiceField(**field_kwargs)
    return str(Ours(data)[name]), str(Djangos(data)[name])


def test_same_html_with_nothing_chosen():
    ours, djangos = both({"choices": [("", "Any"), ("a", "Apple"), ("b", "Banana")],
                          "required": False})
    assert ours == djangos
    assert '<option value="" selected>Any</option>' in ours


def test_same_html_with_a_choice_made_and_an_error():
    ours, djangos = both({"choices": [("a", "Apple"), ("b", "Banana")], "help_text": "Fruit"},
                         data={"pick": "zz"})
    assert ours == djangos
    assert 'aria-invalid="true"' in ours
    ours, djangos = both({"choices": [("a", "Apple"), (2, "Two")]}, data={"pick": "2"})
    assert ours == djangos
    assert '<option value="2" selected>Two</option>' in ours


def test_same_html_with_groups_and_characters_to_escape():
    choices = [("", "—"), ("Fruit <raw>", [("a&b", 'Apple "&" <b>')]), ("c", "Cherry")]
    ours, djangos = both({"choices": choices, "required": False}, data={"pick": "a&b"})
    assert ours == djangos
    assert '<optgroup label="Fruit &lt;raw&gt;">' in ours
    assert "Apple &quot;&amp;&quot; &lt;b&gt;" in ours


def test_same_html_for_model_choices(db):
    from refnet.practice.models import Location

    here = Location.objects.create(name="Main & Co")
    Location.objects.create(name="Westside")

    class Ours(forms.Form):
        location = forms.ModelChoiceField(Location.objects.order_by("name"), widget=Select,
                                          required=False, empty_label="Any location")

    class Djangos(forms.Form):
        location = forms.ModelChoiceField(Location.objects.order_by("name"), required=False,
                                          empty_label="Any location")

    data = {"location": str(here.pk)}
    assert str(Ours(data)["location"]) == str(Djangos(data)["location"])
    assert f'<option value="{here.pk}" selected>Main &amp; Co</option>' in str(
        Ours(data)["location"])
