"""A PEP 517 build backend in the standard library only, so that `pip install clients/python` works
offline on any Python >= 3.9: setuptools without the `wheel` package (setuptools < 70.1) cannot build a
wheel, and an isolated build would have to download one. It builds a pure-Python wheel of the
`allocwatch` package, and an sdist, from pyproject.toml's [project] table."""

import base64
import hashlib
import os
import tarfile
import zipfile

try:
    import tomllib  # Python >= 3.11
except ImportError:  # pragma: no cover - Python 3.9, 3.10
    tomllib = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "allocwatch"


def _project():
    path = os.path.join(ROOT, "pyproject.toml")
    if tomllib is not None:
        with open(path, "rb") as f:
            return tomllib.load(f)["project"]
    # Without tomllib: the few flat `key = "value"` lines of [project] this backend reads.
    project, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[project]" and "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                if value.startswith('"'):
                    project[key] = value.strip('"')
    return project


def _metadata(project):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3.9')}",
    ]
    readme = os.path.join(ROOT, "README.md")
    body = ""
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _package_files():
    base = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(base)):
        if name.endswith(".py") or name == "py.typed":
            yield f"{PACKAGE}/{name}", os.path.join(base, name)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _dist_name(project):
    return project["name"].replace("-", "_")


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    dist = f"{_dist_name(project)}-{project['version']}"
    wheel_name = f"{dist}-py3-none-any.whl"
    info = f"{dist}.dist-info"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as wheel:
        def add(arcname, data):
            wheel.writestr(arcname, data)
            records.append(_record_line(arcname, data))

        for arcname, path in _package_files():
            with open(path, "rb") as f:
                add(arcname, f.read())
        add(f"{info}/METADATA", _metadata(project).encode("utf-8"))
        add(f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: allocwatch_build\nRoot-Is-Purelib: true\n"
                             b"Tag: py3-none-any\n")
        records.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    dist = f"{_dist_name(project)}-{project['version']}"
    name = f"{dist}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for rel in ("pyproject.toml", "README.md", "build_backend/allocwatch_build.py"):
            if os.path.exists(os.path.join(ROOT, rel)):
                sdist.add(os.path.join(ROOT, rel), f"{dist}/{rel}")
        for arcname, path in _package_files():
            sdist.add(path, f"{dist}/{arcname}")
        pkg_info = tarfile.TarInfo(f"{dist}/PKG-INFO")
        data = _metadata(project).encode("utf-8")
        pkg_info.size = len(data)
        import io
        sdist.addfile(pkg_info, io.BytesIO(data))
    return name
