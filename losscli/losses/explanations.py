"""What each loss measures, when to use it, and how libraries differ: ``losscli explain``.

Written by the losscli authors. For the four losses of the article the project started from
(MSE, cross-entropy, KL, hinge) every point the article makes is covered, and corrected where
it is wrong. A test fails when a registered loss has no entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Explanation:
    measures: str
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    use: str
    differences: tuple[str, ...] = ()
    corrections: tuple[str, ...] = ()  # where the original article is wrong or incomplete


EXPLANATIONS: dict[str, Explanation] = {
    "mse": Explanation(
        measures="The average squared gap between prediction and label. Minimising it "
        "predicts the conditional mean; it is the negative log-likelihood of Gaussian noise "
        "with fixed variance (up to constants).",
        strengths=(
            "Smooth and convex in the prediction: gradients 2(ŷ − y) shrink as the fit "
            "improves, which makes optimisation easy.",
            "The right loss when errors are Gaussian-like and a large error really costs "
            "quadratically more than a small one.",
            "Decomposes into bias² + variance; the standard for keypoint and box regression.",
        ),
        weaknesses=(
            "Outliers dominate: one error of 10 weighs as much as 100 errors of 1, so a few "
            "bad labels can steer the whole model.",
            "Large gradients for large errors can destabilise early training (clip gradients, "
            "or use huber / smooth_l1).",
            "In squared units of the label: report rmse for a number in the label's units.",
        ),
        use="Regression with roughly symmetric, light-tailed noise: keypoints, box "
        "coordinates, depth, prices after a log transform.",
        differences=(
            "torch mse_loss 'mean' divides by every element (n·k for k outputs); losscli "
            "does the same. sklearn mean_squared_error averages per output first "
            "(the same when every output has n values).",
            "sklearn's root_mean_squared_error on several outputs averages per-output RMSEs; "
            "losscli's rmse is the root of the overall mean.",
        ),
        corrections=(
            "The article lists sensitivity to outliers as a strength. It is a weakness "
            "(or, at best, a deliberate choice when large errors must be punished hard).",
        ),
    ),
    "ce": Explanation(
        measures="How surprised the model is by the true class: −log of the probability it "
        "gave the true class, averaged over samples (log loss, negative log-likelihood).",
        strengths=(
            "A proper scoring rule: it is minimised by the true class probabilities, so it "
            "rewards calibrated confidence, not just the right argmax.",
            "From logits its gradient is p − y: it does not saturate when the model is "
            "confidently wrong, unlike MSE on sigmoid outputs.",
            "Works for soft labels (distillation, mixup) and label smoothing.",
        ),
        weaknesses=(
            "Unbounded: one confident mistake can dominate the mean (p = 0 costs 36.04 with "
            "scikit-learn's eps clipping, 100 with torch's BCE clamp, 16.12 with Keras').",
            "Class imbalance: frequent classes dominate the mean; use weight=[...] or focal.",
            "Rewards ever more confidence on training data: overconfidence, which label "
            "smoothing counters.",
        ),
        use="Classification of every kind: binary, multiclass, soft labels, segmentation "
        "maps (per pixel).",
        differences=(
            "torch cross_entropy takes logits; sklearn log_loss takes probabilities "
            "(clipped to [eps, 1 − eps]); Keras categorical_crossentropy takes probabilities, "
            "renormalises rows silently and clips at 1e-7.",
            "With class weights torch divides by the sum of the true classes' weights, not "
            "by n; with probability targets it divides by n even with weights.",
            "Label smoothing with weights (torch): the smoothing term is weighted by class "
            "and shares the same denominator.",
            "ignore_index rows count in neither numerator nor denominator; if every row is "
            "ignored torch returns nan, losscli stops with an error.",
        ),
        corrections=(
            "The article's formula −(1/n) Σ y·log ŷ needs ŷ to be probabilities; models "
            "output logits, and log(softmax) must be computed as z − logsumexp(z) to stay "
            "finite.",
            "'Saturation' is a problem of MSE on sigmoid/softmax outputs, not of "
            "cross-entropy from logits, whose gradient stays p − y.",
            "The article's PyTorch example fails (batch size 1 vs 3): binary predictions "
            "need binary cross-entropy (one column), as losscli does for one prediction "
            "column.",
        ),
    ),
    "bce": Explanation(
        measures="Cross-entropy of independent yes/no decisions: −[y log p + (1 − y) "
        "log(1 − p)] per output, p = sigmoid(logit).",
        strengths=(
            "Exact and finite for any logit (computed with log1p(exp(−|x|))).",
            "Handles several independent labels per sample (multi-label) and soft targets.",
            "pos_weight rebalances rare positives as in torch.",
        ),
        weaknesses=(
            "From probabilities a 0 or 1 must be clipped, and libraries clip differently.",
            "Like ce, dominated by confident mistakes and by the majority class.",
        ),
        use="Binary and multi-label classification, detection objectness, masks.",
        differences=(
            "torch binary_cross_entropy clamps log at −100; scikit-learn clips p to "
            "[eps, 1 − eps]; Keras clips at 1e-7; binary_cross_entropy_with_logits is exact.",
            "label_smoothing is Keras's (binary_crossentropy): y becomes y(1 − ε) + ε/2; "
            "torch's BCE losses have no label_smoothing (its cross_entropy's mixes with 1/C).",
            "pos_weight takes one value or a list, one per label column, like torch's "
            "pos_weight tensor of shape (k,) for k labels.",
        ),
    ),
    "kl": Explanation(
        measures="KL(p ‖ q) = Σ p log(p / q): the extra bits (nats) needed to code samples of "
        "the target p with a code built for the prediction q. Zero only when q = p.",
        strengths=(
            "Compares whole distributions: distillation, soft labels, calibration of "
            "predicted histograms.",
            "With one-hot targets it equals cross-entropy (the target's entropy is 0).",
        ),
        weaknesses=(
            "Asymmetric: KL(p ‖ q) ≠ KL(q ‖ p). KL(p ‖ q) punishes q = 0 where p > 0 with "
            "+inf (mode-covering); the reverse is mode-seeking. Use js for a symmetric, "
            "bounded alternative.",
            "Infinite as soon as the prediction gives zero probability to a possible outcome.",
        ),
        use="Matching predicted to target distributions: knowledge distillation, "
        "variational methods, label distributions; not a generic classification loss.",
        differences=(
            "torch kl_div(input, target) takes input = log q and target = p (note the "
            "order); its default reduction 'mean' divides by N·C and warns — 'batchmean' "
            "(divide by N) is the true KL, which losscli reports.",
            "scipy.special.rel_entr defines 0·log 0 = 0 and +inf where q = 0 < p; losscli "
            "follows it (torch gives nan where q = 0 and p = 0 with log-inputs of −inf).",
            "kl:log_target=true reads the labels as log p, as torch's log_target=True (exp of "
            "each label row must sum to 1); hard labels become log(one-hot).",
        ),
        corrections=(
            "The article uses KL for 'generative / unsupervised' settings only; it is as much "
            "a supervised loss for soft targets and distillation.",
            "The article's torch example passes integer targets to KLDivLoss, which rejects "
            "them: the target must be a distribution (losscli turns hard labels into "
            "one-hot rows).",
        ),
    ),
    "hinge": Explanation(
        measures="How far a sample is from being on the right side of the decision boundary "
        "with margin 1: max(0, 1 − y·s) for a score s and y = ±1.",
        strengths=(
            "Zero for samples classified with margin ≥ 1: training focuses on the hard "
            "samples near the boundary (max-margin, SVMs).",
            "Robust to confident, correct samples; grows only linearly with a mistake.",
        ),
        weaknesses=(
            "Not differentiable at margin 1 (subgradients work in practice).",
            "Scores are not probabilities: no calibration, no probability for the true class.",
            "Labels must be ±1: 0/1 labels have to be mapped first.",
        ),
        use="Max-margin binary classifiers (linear SVMs), ranking; Crammer–Singer for "
        "several classes.",
        differences=(
            "scikit-learn hinge_loss maps any two labels to ±1 (the larger is +1) and uses "
            "Crammer–Singer for multiclass: max(0, 1 + max_{j≠y} s_j − s_y).",
            "Keras hinge converts only {0, 1}; torch MultiMarginLoss sums over wrong classes "
            "and divides by C (Weston–Watkins); torch HingeEmbeddingLoss is a different loss "
            "(see hinge_embedding).",
        ),
        corrections=(
            "The article's PyTorch example uses HingeEmbeddingLoss, which is not the SVM "
            "hinge: with labels 0/1 it treats 0 as neither class and returns 1.0. The SVM "
            "hinge of its example is 0.2333333333.",
        ),
    ),
    "rmse": Explanation(
        measures="The square root of MSE: a typical error size in the label's units.",
        strengths=("Readable in the label's units; same minimiser as MSE.",),
        weaknesses=(
            "Inherits MSE's sensitivity to outliers; not a mean of per-sample terms, "
            "so its interval comes from the MSE interval.",
        ),
        use="Reporting regression error to people.",
        differences=(
            "sklearn root_mean_squared_error on several outputs averages per-output "
            "RMSEs; losscli takes the root of the overall mean, like "
            "sqrt(torch.mse_loss).",
        ),
    ),
    "mae": Explanation(
        measures="The average absolute gap; minimising it predicts the conditional median.",
        strengths=("Robust to outliers: each error counts linearly.", "In the label's units."),
        weaknesses=(
            "Constant gradient magnitude: slow, jittery convergence near the optimum.",
            "Not differentiable at zero error.",
        ),
        use="Regression with heavy-tailed noise or outliers.",
    ),
    "huber": Explanation(
        measures="Squared error for small gaps (|d| < δ), absolute error beyond: the best of "
        "MSE near the optimum and MAE for outliers.",
        strengths=("Smooth, with bounded gradients for outliers.",),
        weaknesses=("δ must match the noise scale of the labels.",),
        use="Robust regression; box regression in detection.",
        differences=("huber(δ) = δ · smooth_l1(β = δ); the two agree only at δ = 1.",),
    ),
    "smooth_l1": Explanation(
        measures="Huber loss divided by β: ½d²/β near zero, |d| − ½β beyond.",
        strengths=("Gradient bounded by 1; β = 0 gives plain L1.",),
        weaknesses=("Same as huber: β must match the noise scale.",),
        use="Box regression (Fast/Faster R-CNN); robust regression.",
        differences=("smooth_l1(β) = huber(δ = β) / β.",),
    ),
    "squared_hinge": Explanation(
        measures="The hinge loss squared: max(0, 1 − y·s)².",
        strengths=("Differentiable everywhere; punishes large margin violations more.",),
        weaknesses=("More sensitive to outliers than the hinge.",),
        use="L2-SVMs (e.g. scikit-learn LinearSVC's default loss).",
        differences=(
            "Keras squared_hinge converts {0, 1} labels only; losscli maps any two "
            "labels like scikit-learn.",
        ),
    ),
    "hinge_embedding": Explanation(
        measures="torch's HingeEmbeddingLoss: x for similar pairs (y = 1) and "
        "max(0, margin − x) for dissimilar pairs (y = −1), where x is typically a distance.",
        strengths=("Learns embeddings where similar pairs are close, dissimilar ones far.",),
        weaknesses=(
            "Not the SVM hinge; labels must be exactly ±1; can be negative when x < 0 for y = 1.",
        ),
        use="Metric learning on pair distances.",
    ),
    "log_cosh": Explanation(
        measures="log(cosh(ŷ − y)): about ½d² for small errors and |d| − log 2 for large ones.",
        strengths=(
            "Smooth everywhere, like MSE near zero and like MAE for outliers, with no "
            "threshold to tune (unlike huber).",
        ),
        weaknesses=(
            "Computed naively, cosh overflows beyond |d| ≈ 710; losscli uses a stable form.",
            "Its gradient tanh(d) saturates, so large errors all push alike.",
        ),
        use="Robust regression when a smooth, parameter-free loss is wanted.",
        differences=("Keras log_cosh computes in float32 (about 1e-7 relative).",),
    ),
    "quantile": Explanation(
        measures="The pinball loss: q·d for under-prediction and (1 − q)·(−d) for over-"
        "prediction (d = y − ŷ). Minimising it predicts the q-th conditional quantile.",
        strengths=("Prediction intervals and asymmetric costs; q = 0.5 is half the MAE.",),
        weaknesses=("One quantile per loss; not differentiable at zero error.",),
        use="Quantile regression, forecasting intervals, asymmetric penalties.",
        differences=("scikit-learn calls q 'alpha' (mean_pinball_loss).",),
    ),
    "msle": Explanation(
        measures="MSE between log1p(ŷ) and log1p(y): relative rather than absolute errors.",
        strengths=(
            "Errors on large values count in proportion; under-prediction costs more "
            "than the same over-prediction.",
        ),
        weaknesses=("Needs ŷ, y > −1 (scikit-learn refuses other values, so does losscli).",),
        use="Counts, prices and other positive targets spanning orders of magnitude.",
    ),
    "mape": Explanation(
        measures="The mean of |y − ŷ| / |y|: the relative error.",
        strengths=("Scale-free and easy to communicate (0.05 = 5 %).",),
        weaknesses=(
            "Explodes near y = 0: scikit-learn divides by max(|y|, eps) and reports "
            "values like 1e14; losscli does the same, so check for zero labels.",
            "Asymmetric: over-predictions can cost more than 100 %, under-predictions cannot.",
        ),
        use="Forecasts of strictly positive quantities far from zero.",
        differences=("scikit-learn returns a fraction, not a percentage; so does losscli.",),
    ),
    "poisson_nll": Explanation(
        measures="Negative log-likelihood of counts y under a Poisson rate λ = exp(ŷ) "
        "(log_input=true) or λ = ŷ.",
        strengths=("The right likelihood for counts; its optimum is the conditional mean.",),
        weaknesses=(
            "Without full=true the constant log(y!) is dropped, so values can be "
            "negative and are comparable only between models on the same labels.",
        ),
        use="Count regression: events, photons, clicks.",
        differences=(
            "torch adds Stirling's approximation of log(y!) only when full=true and "
            "only where y > 1; losscli follows it.",
        ),
    ),
    "gaussian_nll": Explanation(
        measures="Negative log-likelihood of y under N(μ, σ²) with the predicted mean (first "
        "prediction column) and variance (second column).",
        strengths=("Scores the predicted uncertainty as well as the mean.",),
        weaknesses=(
            "Can be negative; a model can lower it by inflating the variance on hard "
            "samples; variances are clamped at eps.",
        ),
        use="Heteroscedastic regression, probabilistic forecasts.",
        differences=(
            "torch clamps the variance at eps (1e-6) and drops the constant "
            "½ log 2π unless full=true; losscli follows it.",
        ),
    ),
    "nll": Explanation(
        measures="−log p of the true class, with log-probabilities given directly.",
        strengths=("Exactly torch's nll_loss for models that end in log_softmax.",),
        weaknesses=(
            "Inputs must be log-probabilities: passing probabilities or logits gives "
            "wrong numbers silently in torch; losscli refuses rows that are not.",
        ),
        use="Evaluating log-softmax outputs.",
        differences=("ce = nll(log_softmax(logits)).",),
    ),
    "focal": Explanation(
        measures="Cross-entropy scaled by (1 − p_t)^γ: confident, correct samples count less.",
        strengths=(
            "Focuses on hard examples; counters extreme class imbalance (dense detection).",
        ),
        weaknesses=(
            "Two hyper-parameters; not a proper scoring rule for γ > 0, so it does "
            "not reward calibration.",
        ),
        use="Detection and segmentation with many easy negatives.",
        differences=(
            "torchvision's sigmoid_focal_loss weighs positives by α and negatives by "
            "1 − α (α = 0.25, γ = 2 by default); multiclass versions differ between "
            "libraries; losscli's applies no α unless given.",
        ),
    ),
    "multi_margin": Explanation(
        measures="torch's multiclass hinge (Weston–Watkins): Σ_{j≠y} max(0, margin − s_y + "
        "s_j)^p / C.",
        strengths=("Penalises every wrong class that comes within the margin.",),
        weaknesses=(
            "Scores are not probabilities; divides by C, so values shrink with more classes.",
        ),
        use="Multiclass max-margin training with torch's MultiMarginLoss.",
        differences=(
            "scikit-learn's hinge_loss uses Crammer–Singer (only the best wrong "
            "class, not divided by C): see hinge.",
        ),
    ),
    "categorical_hinge": Explanation(
        measures="Keras' categorical hinge: max(0, 1 + neg − pos), pos = s_y and neg = "
        "max((1 − y)·s).",
        strengths=("Keras-compatible numbers for one-hot targets.",),
        weaknesses=(
            "Because neg is a max over (1 − y)·s, the true class contributes a 0: "
            "when every wrong score is negative, neg is 0, not the best wrong score.",
        ),
        use="Reproducing Keras' categorical_hinge.",
        differences=("Crammer–Singer (hinge) uses the best wrong score even when negative.",),
    ),
    "js": Explanation(
        measures="Jensen–Shannon divergence: the mean KL of p and q to their average m.",
        strengths=(
            "Symmetric and bounded (by log 2, or 1 in base 2); finite when one "
            "distribution has zeros.",
        ),
        weaknesses=("Less sensitive than KL to small probabilities.",),
        use="Comparing distributions where KL would be infinite or its asymmetry unwanted.",
        differences=(
            "scipy's jensenshannon is the square root (a distance) and silently "
            "renormalises rows; losscli reports the divergence and checks rows.",
        ),
    ),
    "entropy": Explanation(
        measures="The Shannon entropy of each predicted distribution; labels are not used.",
        strengths=("Shows how uncertain the model is, independent of correctness.",),
        weaknesses=("Not a loss against labels: low entropy can mean confidently wrong.",),
        use="Uncertainty monitoring, active learning, comparing calibration.",
    ),
    "dice": Explanation(
        measures="1 − mean over classes of the soft Dice overlap 2|P∩G| / (|P| + |G|) per "
        "image, with P the predicted probabilities and G the one-hot labels.",
        strengths=(
            "Insensitive to the large background of segmentation maps; optimises overlap directly.",
        ),
        weaknesses=(
            "Per image, not per pixel: it has no per-class breakdown by pixel; "
            "unstable for classes absent from an image without smoothing.",
        ),
        use="Semantic segmentation, especially with small foreground structures.",
        differences=(
            "Libraries differ in smoothing, squared denominators and whether absent "
            "classes count; losscli counts every class with smooth in numerator and "
            "denominator.",
        ),
    ),
    "brier": Explanation(
        measures="The squared distance between the predicted class probabilities and the "
        "one-hot truth: (p − y)² for a binary positive-class probability.",
        strengths=(
            "A strictly proper scoring rule, like log loss, but bounded: one confident "
            "mistake costs at most 1 (2 for multiclass), not infinity.",
            "Decomposes into calibration (reliability) and refinement (resolution); pair it "
            "with ece and --calibration to see which part is bad.",
        ),
        weaknesses=(
            "Less sensitive than log loss to confident errors on rare events.",
            "Its scale differs between conventions: binary is halved by default, multiclass "
            "is not (scale_by_half).",
        ),
        use="Judging probability forecasts of classifiers (weather, risk, medical scores), "
        "beside log loss.",
        differences=(
            "scikit-learn brier_score_loss halves the sum over classes for two classes and "
            "not for three or more (scale_by_half='auto'); losscli does the same, and "
            "scale_by_half=true/false forces either.",
            "scikit-learn's pos_label defaults to 1 for labels {0, 1} or {−1, 1} and to the "
            "larger label otherwise, and requires it for text labels; losscli uses the same rule "
            "and takes the larger text label in sorted order (it says so), with no pos_label "
            "option: to score the other class, give 1 − p.",
            "Logits are turned into probabilities (sigmoid, softmax) first; scikit-learn "
            "takes probabilities only.",
        ),
    ),
    "tweedie": Explanation(
        measures="The Tweedie unit deviance of a predicted mean: twice the log-likelihood "
        "gap to the perfect model under a Tweedie distribution of power p.",
        strengths=(
            "One family for count, continuous positive and compound data: p = 0 squared "
            "error, 1 Poisson, (1, 2) compound Poisson–Gamma (insurance claims with zeros), "
            "2 Gamma, 3 inverse Gaussian.",
            "The loss a Tweedie GLM (or a gradient-boosting model's tweedie objective) "
            "minimises, so it scores those models on their own terms.",
        ),
        weaknesses=(
            "Domains: p < 0 needs ŷ > 0; 1 <= p < 2 needs y >= 0 and ŷ > 0; p >= 2 needs "
            "y > 0 and ŷ > 0 (losscli exits 3 naming the rows); p in (0, 1) is undefined.",
            "Values for different powers are not comparable with each other.",
        ),
        use="Insurance pure premium (p ≈ 1.5), demand and count forecasting, positive skewed "
        "targets.",
        differences=(
            "scikit-learn mean_tweedie_deviance takes one output only; losscli averages "
            "the k outputs of a sample like its other regression losses.",
        ),
    ),
    "poisson_deviance": Explanation(
        measures="The Poisson deviance 2[y log(y/ŷ) − y + ŷ] of predicted rates ŷ for counts y.",
        strengths=(
            "The natural loss for counts: 0 at ŷ = y, penalises relative more than absolute "
            "errors on small counts.",
        ),
        weaknesses=("Needs ŷ > 0 and y >= 0 (exit 3 names the rows otherwise).",),
        use="Count regression: events, visits, claims frequency.",
        differences=(
            "torch's poisson_nll_loss drops the terms that do not depend on ŷ, so it can be "
            "negative; the deviance is >= 0 and 0 at a perfect prediction. Equal to "
            "tweedie:power=1.",
        ),
    ),
    "gamma_deviance": Explanation(
        measures="The Gamma deviance 2[log(ŷ/y) + y/ŷ − 1]: a relative error, unchanged when y "
        "and ŷ are scaled together.",
        strengths=("Scale-free: errors on large and small targets count alike, relative to size.",),
        weaknesses=("Needs y > 0 and ŷ > 0 (exit 3 names the rows otherwise).",),
        use="Positive skewed targets: claim severity, durations, prices.",
        differences=("Equal to tweedie:power=2 (scikit-learn mean_gamma_deviance).",),
    ),
    "rmsle": Explanation(
        measures="The square root of msle: a typical error of log1p values, roughly a "
        "relative error for large targets.",
        strengths=("In log units; penalises under-prediction slightly more than over-prediction.",),
        weaknesses=("Needs predictions and labels > −1 (exit 3 names the rows otherwise).",),
        use="Targets spanning orders of magnitude (prices, counts), Kaggle-style scoring.",
        differences=(
            "scikit-learn root_mean_squared_log_error on several outputs averages per-output "
            "roots; losscli's rmsle is the root of the overall mean (as rmse).",
        ),
    ),
    "soft_margin": Explanation(
        measures="The logistic loss log(1 + exp(−y·x)) of raw scores x with targets y = ±1: "
        "binary cross-entropy with logits written for ±1 labels.",
        strengths=(
            "Smooth everywhere (unlike hinge) and finite for any score in losscli "
            "(computed as −log_sigmoid(y·x)).",
        ),
        weaknesses=("Never exactly 0: keeps pushing margins that are already right.",),
        use="Binary or multi-label classification with torch's SoftMarginLoss.",
        differences=(
            "torch takes a ±1 target tensor; files give binary labels (the larger value is "
            "+1) or a multi-hot 0/1 matrix (1 → +1, 0 → −1). Equal to bce with logits on the "
            "0/1 labels.",
            "torch computes log1p(exp(−y·x)), which overflows to inf beyond y·x < −709; "
            "losscli stays finite there.",
        ),
    ),
    "multilabel_margin": Explanation(
        measures="torch's multi-label hinge: for each sample, every target class's score must "
        "exceed every non-target score by 1; violations summed and divided by C.",
        strengths=("Ranks all target classes above all others, a max-margin multi-label loss.",),
        weaknesses=(
            "Quadratic in the number of classes per sample; scores are not probabilities.",
        ),
        use="Multi-label classification trained with torch's MultiLabelMarginLoss.",
        differences=(
            "torch's target is a row of class indices padded with −1 ([0, 3, −1, −1]: "
            "classes 0 and 3); losscli reads the same target as a multi-hot 0/1 matrix, "
            "one label column per prediction column (1 0 0 1), which is how label files hold "
            "multi-label targets. The mapping is one-to-one: index order and anything after the "
            "first −1 do not change torch's value.",
        ),
    ),
    "ece": Explanation(
        measures="Expected calibration error: samples are binned by confidence (equal-width "
        "bins of [0, 1]); in each bin, the gap between the mean confidence and the share of "
        "right predictions; ECE is the gaps' average weighted by bin size.",
        strengths=(
            "Says whether probabilities can be taken at face value: 0.8 should be right 80 % "
            "of the time. --calibration prints the reliability table behind the number.",
            "Merges exactly across chunks and jobs (per-bin counts and sums).",
        ),
        weaknesses=(
            "Not a mean of per-sample losses: it has no per-sample value (losscli shows each "
            "sample's |confidence − right| but does not average it) and no t interval.",
            "Depends on the number of bins and is biased upward for small samples; a model "
            "that always predicts the base rate has ECE 0 without being useful (pair it with "
            "brier or ce).",
        ),
        use="Checking and gating calibration of classifiers: check --max ece=0.05.",
        differences=(
            "TorchMetrics CalibrationError (norm='l1') is the reference: binary uses the "
            "positive class's probability as confidence and the label as accuracy; multiclass "
            "the top-label probability and whether the argmax is right. Bins are "
            "[b/B, (b+1)/B): a confidence on an edge goes to the upper bin, and a confidence "
            "of exactly 1 forms a bin of its own (torch.bucketize(right=True) − 1).",
            "TorchMetrics' edges come from torch.linspace, whose CPU kernel can put an edge "
            "1 ulp away from b/B (e.g. 10/15); losscli uses b/B, so a confidence within 1 ulp "
            "of such an edge can fall in the other bin. Multiclass TorchMetrics computes in "
            "float32; losscli in float64.",
        ),
    ),
    "mce": Explanation(
        measures="Maximum calibration error: the largest gap between mean confidence and "
        "accuracy over the confidence bins (empty bins count as 0).",
        strengths=("The worst-case miscalibration: what a risk-sensitive user cares about.",),
        weaknesses=(
            "Driven by a single bin, often a sparsely populated one: noisy on small samples.",
        ),
        use="Safety-critical calibration checks beside ece.",
        differences=("TorchMetrics CalibrationError with norm='max'; binning as for ece.",),
    ),
}


def explanation_for(name: str) -> Explanation | None:
    return EXPLANATIONS.get(name)
