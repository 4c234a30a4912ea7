# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Sphinx configuration of the module and role reference site (`make docs-site`, hack/docs_site.sh).

Based on what `antsibull-docs sphinx-init` generates, with one change so the site builds offline and
strict (-W, nitpicky): instead of intersphinx, which downloads the Ansible docsite's inventory at build
time, references the generated RST makes to the Ansible docsite (other collections' plugins, a few
reference pages) are resolved here to links into docs.ansible.com. Any other unresolved reference is
still a warning, and the build fails on it.
"""

from docutils import nodes
from docutils.nodes import make_id

project = "cloudforge.platform"
copyright = "CloudForge maintainers"
title = "cloudforge.platform reference"
html_short_title = "cloudforge.platform"

extensions = ["sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_index = False
html_copy_source = False
display_version = False

default_role = "any"
nitpicky = True

# Where `antsibull-docs sphinx-init` points intersphinx for the Ansible docsite.
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"

# Labels of the Ansible docsite that antsibull-docs' templates refer to: label -> (page, title).
ANSIBLE_DOCSITE_LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html", "Return Values"),
    "ansible_configuration_settings": ("reference_appendices/config.html", "Ansible Configuration Settings"),
}


def ansible_docs_url(target):
    """The docs.ansible.com URL of a `:ref:` label this site does not define, or None when there is none.

    Plugin pages of other collections (ansible.builtin included) follow antsibull-docs' naming:
    label ``ansible_collections.<ns>.<name>.<plugin>_<type>[__<anchor>]`` on page
    ``collections/<ns>/<name>/<plugin>_<type>.html``, anchored at the label's docutils id.
    """
    if target in ANSIBLE_DOCSITE_LABELS:
        return f"{ANSIBLE_DOCS}{ANSIBLE_DOCSITE_LABELS[target][0]}#{make_id(target)}"
    parts = target.split(".", 3)
    if len(parts) != 4 or parts[0] != "ansible_collections" or (parts[1], parts[2]) == ("cloudforge", "platform"):
        return None
    namespace, name, plugin = parts[1], parts[2], parts[3].split("__", 1)[0]
    return f"{ANSIBLE_DOCS}collections/{namespace}/{name}/{plugin}.html#{make_id(target)}"


def _resolve_ansible_docs(app, env, node, contnode):
    if node.get("refdomain") != "std" or node.get("reftype") != "ref":
        return None
    target = node["reftarget"]
    url = ansible_docs_url(target)
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    if not node.get("refexplicit") and target in ANSIBLE_DOCSITE_LABELS:
        reference += nodes.inline(text=ANSIBLE_DOCSITE_LABELS[target][1])
    else:
        reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", _resolve_ansible_docs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
