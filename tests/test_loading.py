"""``ems_core.loading``: loading errors said in one line, without absolute paths."""

import pickle

from ems_core.loading import MODEL_LOAD_ERRORS, load_error_reason


def test_reason_is_one_line_without_absolute_paths():
    error = OSError("Error no file named model.safetensors found in directory /tmp/tmpq1w2e3/model/text_encoder.\n"
                    "Traceback details...")
    assert load_error_reason(error) == ("OSError: Error no file named model.safetensors found in directory "
                                        ".../model/text_encoder.")
    assert load_error_reason(RuntimeError()) == "RuntimeError"
    assert pickle.UnpicklingError in MODEL_LOAD_ERRORS
