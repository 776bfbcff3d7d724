"""Word-masking explanations of a classifier's decisions (Captum's FeatureAblation), as text and as HTML."""
from .attribution import Explanation, explain, format_explanations
from .masking import masker_for

__all__ = ["Explanation", "explain", "format_explanations", "masker_for"]
