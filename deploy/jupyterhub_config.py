# JupyterHub config for a convkit class on one server (Debian's jupyterhub 3.0).
#
# Install: deploy/install.sh copies this file to /etc/convkit/jupyterhub_config.py and runs the hub
# with it (systemd unit deploy/convkit-hub.service). Read deploy/README.md first.
#
# What it does:
# - students log in with their Unix account (PAM) and get a classic Notebook 6 server as that user
#   (LocalProcessSpawner), opened on ~/convkit/notebooks;
# - each student's FIRST start copies the student edition (CONVKIT_EDITION, made by
#   `deno task release`) to ~/convkit; a later start never touches it, so their work stays;
# - kernels use the system-wide Deno cache (DENO_DIR, npm packages fetched once by install.sh), so
#   they start without the network;
# - idle kernels and idle servers are culled by the single-user server itself (no extra service).
#
# `deno task hub-check` runs this same file with CONVKIT_HUB_CHECK=1: then the hub listens on
# 127.0.0.1 only, students are created through the REST API (dummy authenticator: any password, for
# the check only) and their servers run as the calling user with homes under a temporary folder
# (SimpleLocalProcessSpawner), because a check should not create Unix accounts.

import os
import shutil
import pwd

c = get_config()  # noqa: F821 (JupyterHub provides it)

env = os.environ.get
EDITION = env("CONVKIT_EDITION", "/opt/convkit/edition")
DENO_DIR = env("CONVKIT_DENO_DIR", "/opt/convkit/deno")
DENO = env("CONVKIT_DENO", "/usr/local/bin/deno")
CHECK = env("CONVKIT_HUB_CHECK") == "1"

# minutes of no activity before an idle kernel, then the whole server, are stopped
KERNEL_IDLE_MIN = int(env("CONVKIT_KERNEL_IDLE_MIN", "30"))
SERVER_IDLE_MIN = int(env("CONVKIT_SERVER_IDLE_MIN", "60"))


def student_home(spawner):
    """The folder that holds the student's ~/convkit."""
    if CHECK:
        return os.path.join(env("CONVKIT_HUB_HOMES"), spawner.user.name)
    return pwd.getpwnam(spawner.user.name).pw_dir


def copy_edition(spawner):
    """First start only: copy the student edition to ~/convkit (owned by the student)."""
    home = student_home(spawner)
    target = os.path.join(home, "convkit")
    if os.path.exists(target):
        return  # never overwritten: the student's work lives there
    os.makedirs(home, exist_ok=True)
    tmp = os.path.join(home, ".convkit.copying")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(EDITION, tmp, symlinks=True)
    if not CHECK:
        pw = pwd.getpwnam(spawner.user.name)
        for d, dirs, files in os.walk(tmp):
            for name in [d] + [os.path.join(d, f) for f in dirs + files]:
                os.lchown(name, pw.pw_uid, pw.pw_gid)
    os.rename(tmp, target)  # a copy cut short is redone at the next start, not left half-made
    spawner.log.info("convkit: copied the student edition to %s", target)


c.Spawner.pre_spawn_hook = copy_edition
c.Spawner.notebook_dir = "~/convkit"
c.Spawner.default_url = "/tree/notebooks"
c.Spawner.environment = {
    # classic Notebook 6 (Debian's jupyterhub-singleuser picks it too when jupyter_server is absent)
    "JUPYTERHUB_SINGLEUSER_APP": "notebook.notebookapp.NotebookApp",
    "DENO_DIR": DENO_DIR,
    "PATH": f"{os.path.dirname(DENO)}:/usr/local/bin:/usr/bin:/bin",
    "NO_COLOR": "1",
}
# CIFAR-10 once for the class (notebook 17 finds it through CONVKIT_CIFAR10), not 170 MB per student:
# deno task data cifar10, then copy ~/.cache/convkit/cifar-10-binary.tar.gz there (install.sh does)
CIFAR10 = env("CONVKIT_CIFAR10", "/opt/convkit/data/cifar-10-binary.tar.gz")
if os.path.isfile(CIFAR10):
    c.Spawner.environment["CONVKIT_CIFAR10"] = CIFAR10
c.Spawner.args = [
    f"--MappingKernelManager.cull_idle_timeout={KERNEL_IDLE_MIN * 60}",
    "--MappingKernelManager.cull_interval=60",
    "--MappingKernelManager.cull_connected=True",
    f"--NotebookApp.shutdown_no_activity_timeout={SERVER_IDLE_MIN * 60}",
]
# a whole class logs in at the start of a lecture: give servers time to start on a busy machine
c.Spawner.start_timeout = int(env("CONVKIT_START_TIMEOUT", "300"))
c.Spawner.http_timeout = int(env("CONVKIT_START_TIMEOUT", "300"))
c.JupyterHub.concurrent_spawn_limit = int(env("CONVKIT_SPAWN_LIMIT", "200"))
c.JupyterHub.active_server_limit = 0

proxy = env("CONVKIT_PROXY")  # the npm configurable-http-proxy@5 (Debian's fails under Node 20)
if proxy:
    c.ConfigurableHTTPProxy.command = [proxy]

if CHECK:
    run = env("CONVKIT_HUB_RUN")
    state = env("CONVKIT_HUB_STATE")
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = int(env("CONVKIT_HUB_PORT"))
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = int(env("CONVKIT_HUB_API_PORT"))
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('CONVKIT_PROXY_API_PORT')}"
    c.JupyterHub.authenticator_class = "dummy"
    c.JupyterHub.spawner_class = "simple"  # servers run as this user, homes below
    c.Spawner.home_dir_template = os.path.join(env("CONVKIT_HUB_HOMES"), "{username}")
    c.Spawner.notebook_dir = os.path.join(env("CONVKIT_HUB_HOMES"), "{username}", "convkit")
    c.Spawner.environment["CONVKIT_HUB_RUN"] = run  # marks every process of this run, for clean-up
    # the kernelspec of the run (a real install puts it in /usr/local/share/jupyter/kernels/deno)
    c.Spawner.environment["JUPYTER_PATH"] = env("CONVKIT_JUPYTER_PATH")
    if env("CONVKIT_OFFLINE") == "1":
        # no network for servers and kernels (a proxy that answers nothing): npm packages from the cache only
        dead = "http://127.0.0.1:9"
        c.Spawner.environment.update({
            "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
    c.Spawner.env_keep = ["LANG", "LC_ALL"]
    c.Spawner.args.append("--allow-root")
    c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
    c.JupyterHub.cookie_secret_file = f"{state}/cookie_secret"
    c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"
    c.ConfigurableHTTPProxy.pid_file = f"{state}/proxy.pid"
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.load_roles = [
        {
            "name": "convkit-hub-check",
            "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"],
            "services": ["convkit-hub-check"],
        }
    ]
    c.JupyterHub.services = [
        {"name": "convkit-hub-check", "api_token": env("CONVKIT_HUB_TOKEN")}
    ]
else:
    # real accounts: each student a Unix user (adduser); the instructor an admin
    c.JupyterHub.bind_url = env("CONVKIT_HUB_URL", "http://:8000")
    c.JupyterHub.spawner_class = "localprocess"
    c.Authenticator.admin_users = set(filter(None, env("CONVKIT_ADMINS", "").split(",")))
    allowed = env("CONVKIT_STUDENTS_FILE", "/etc/convkit/students.txt")
    if os.path.exists(allowed):
        with open(allowed) as f:
            c.Authenticator.allowed_users = {l.strip() for l in f if l.strip() and l[0] != "#"}
    c.JupyterHub.db_url = "sqlite:////var/lib/convkit-hub/jupyterhub.sqlite"
    c.JupyterHub.cookie_secret_file = "/var/lib/convkit-hub/cookie_secret"
