from django.contrib import admin

from exams.models import Campaign, Organisation, Post


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["name"]


class PostInline(admin.TabularInline):
    model = Post
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "authority", "status", "announced_at"]
    list_filter = ["status"]
    inlines = [PostInline]
