from django import template

from ..text import pretty_name, pretty_phone

register = template.Library()
register.filter("pretty", pretty_name)
register.filter("pretty_phone", pretty_phone)
