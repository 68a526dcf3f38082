"""doit tasks for every recipe under recipes/: `doit` builds what changed, `doit list` shows the steps."""
from edgebuild import api

DOIT_CONFIG = api.doit_config()


def task_edgebuild():
    yield from api.dodo_tasks()
