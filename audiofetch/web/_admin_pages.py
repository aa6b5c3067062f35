"""The admin's HTML pages and htmx fragments: login, logout and the "Server downloads" section.

Like the job pages they call the functions the JSON API calls (``log_in``, ``log_out``,
``download_folders``, ``remove_download_folder``) and show expected errors in words.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from audiofetch.errors import AdminRequired
from audiofetch.web._actions import download_folders, folder_is_free, remove_download_folder
from audiofetch.web._contract import LOGIN
from audiofetch.web._forms import (
    FormError,
    as_form_error,
    csrf_token,
    error_page,
    is_htmx,
    page_context,
    read_form,
    see_other,
)
from audiofetch.web._login import log_in, log_out, require_admin
from audiofetch.web._paths import local_url

__all__ = ["setup_admin_pages"]


async def login_page(request: web.Request) -> web.Response:
    """``GET /login``: a plain page with the admin login (the home page hides the same form)."""
    return aiohttp_jinja2.render_template("login.html", request, await page_context(request))


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login``: check the password (throttled like the API's login), then back to the home page."""
    try:
        form = await read_form(request)
        await log_in(request, LOGIN.read(form)["password"])
    except Exception as exc:  # wrong password, throttled, expired form; bugs are re-raised
        problem = as_form_error(exc, ("password",))
        problem.field = "password"  # the page shows every login problem there
        if is_htmx(request):
            context = {"errors": {problem.field: problem.message}, "only": ("password",)}
            return aiohttp_jinja2.render_template(
                "_field_errors.html", request, context, status=problem.status
            )
        context = await page_context(request, errors={problem.field: problem.message})
        return aiohttp_jinja2.render_template("login.html", request, context, status=problem.status)
    return _back_home(request)


async def logout_submit(request: web.Request) -> web.StreamResponse:
    """``POST /logout``: revoke the admin session, then back to the home page."""
    try:
        await read_form(request)
    except FormError as problem:
        return await error_page(request, problem.message, problem.status)
    await log_out(request)
    return _back_home(request)


async def downloads_fragment(request: web.Request) -> web.Response:
    """``GET /downloads``: the admin's "Server downloads" section (401 text for others)."""
    try:
        folders = await download_folders(request)
    except AdminRequired:
        return web.Response(status=401, text="log in as admin to see the server downloads")
    context = {"downloads": folders, "csrf_token": await csrf_token(request)}
    return aiohttp_jinja2.render_template("_downloads.html", request, context)


async def delete_download_folder(request: web.Request) -> web.StreamResponse:
    """``POST /downloads/{name}/delete``: ask first (without JavaScript), then delete the folder."""
    name = request.match_info["name"]
    try:
        form = await read_form(request)
        await require_admin(request)
        # A folder still being written is deleted only once the admin confirmed that very fact.
        free = await folder_is_free(request, name, force=True)
        if form.get("confirm") not in (("yes", "busy") if free else ("busy",)):
            context = await page_context(request, name=name, busy=not free)
            return aiohttp_jinja2.render_template("confirm_delete.html", request, context)
        await remove_download_folder(request, name, force=True)
    except Exception as exc:  # not found, not admin, expired form; bugs are re-raised
        problem = as_form_error(exc, reword=(AdminRequired, "log in as admin to delete server downloads"))
        if is_htmx(request):
            context = {
                "downloads": await download_folders(request, quiet=True),
                "csrf_token": await csrf_token(request),
                "downloads_error": problem.message,
            }
            return aiohttp_jinja2.render_template("_downloads.html", request, context, status=problem.status)
        return await error_page(request, problem.message, problem.status)
    if is_htmx(request):
        return await downloads_fragment(request)
    raise see_other(request, "/#downloads")


def _back_home(request: web.Request) -> web.Response:
    if is_htmx(request):
        return web.Response(text="", headers={"HX-Redirect": local_url(request, "/")})
    raise see_other(request, "/")


def setup_admin_pages(app: web.Application) -> None:
    """Register the admin's pages and fragments."""
    router = app.router
    router.add_get("/login", login_page, name="login")
    router.add_post("/login", login_submit, name="login.submit")
    router.add_post("/logout", logout_submit, name="logout")
    router.add_get("/downloads", downloads_fragment, name="downloads")
    router.add_post("/downloads/{name}/delete", delete_download_folder, name="downloads.delete")
