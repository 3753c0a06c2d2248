"""``certify`` reports its digits as rigorous when verify_fit finds a verified ball."""

import json

import numpy as np

from verified_relu import ReLUNetwork
from verified_relu.instances import make
from verified_relu.precision import certify


def test_certify_digits_are_rigorous_with_a_verified_ball():
    net = make("random", 4, 2, rng=0)
    X, y = net.sample(500, rng=1)
    rep = certify(net, X, y, teacher=net, dps=40)
    rig = rep.rigorous
    assert rig["verified"] and rig["relative_radius"] <= 1e-12 and rig["digits"] >= 12
    assert rig["teacher_distance"][0] == 0.0 and rig["teacher_distance"][1] <= 1e-12
    assert "digits rigorous" in rep.format()
    assert json.loads(json.dumps(rep.to_dict()))["rigorous"]["verified"] is True


def test_certify_says_when_its_digits_are_not_proved():
    teacher = make("random", 4, 2, rng=0)
    X, y = teacher.sample(500, rng=1)
    dup = ReLUNetwork(
        np.vstack([teacher.weights, teacher.weights[:1]]),
        np.concatenate([[teacher.coefficients[0] / 2], teacher.coefficients[1:], [teacher.coefficients[0] / 2]]),
    )
    rep = certify(dup, X, y, dps=30, max_iter=5)
    assert rep.rigorous["verified"] is False and rep.rigorous["reason"] == "singular_jacobian"
    assert "digits not proved rigorous" in rep.format()
