from django.contrib import admin

from compliance.models import BusinessAssociate


@admin.register(BusinessAssociate)
class BusinessAssociateAdmin(admin.ModelAdmin):
    list_display = ["name", "services", "contact_name", "contact_email"]
    search_fields = ["name"]
