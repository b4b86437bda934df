from django.contrib import admin

from .models import Location, ServiceLine


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "state", "zip_code", "default_assignee", "is_active")
    list_filter = ("is_active",)


@admin.register(ServiceLine)
class ServiceLineAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active")
