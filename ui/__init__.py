"""EMS Studio's Gradio app: ``create_demo(Studio.load(...))``. The model loads in ``Studio.load``, never at import."""

from .zerogpu import gpu
from .layout import CSS, create_demo
from .studio import MAX_ROWS, Rows, Studio
from .workspace import EditRequest, Workspace

__all__ = ["CSS", "EditRequest", "MAX_ROWS", "Rows", "Studio", "Workspace", "create_demo", "gpu"]
