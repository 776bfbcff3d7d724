"""Training curves: record a run through the engine's events, draw a PNG next to the model."""
from .plot import draw_curves, running_average, save_curves
from .recorder import CurveHistory, CurveRecorder, Validation
from .training_curves import TrainingCurves, curves_path

__all__ = ["CurveHistory", "CurveRecorder", "TrainingCurves", "Validation", "curves_path", "draw_curves",
           "running_average", "save_curves"]
