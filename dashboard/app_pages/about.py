"""About: what each model is, its paper, its equations and how to read its maps, in words for a class."""

import streamlit as st

st.title("About the models")
st.caption(
    "What each model in MEMO does, the paper it comes from, the equations we implement "
    "(from `memo_core/models/*.py`) and how to read the maps the other pages draw. "
    "Written so a teacher can use it in class."
)

# --- Emotion as two numbers -------------------------------------------------------------------
st.header("Emotion as two numbers: valence and arousal")
st.markdown(
    "Every model here follows **Russell's circumplex model of affect** (J. A. Russell, "
    "\"A circumplex model of affect\", *Journal of Personality and Social Psychology* 39(6), 1980): "
    "an emotion is a point on a plane with two axes.\n\n"
    "- **Valence** (left to right): how negative or positive the feeling is, unpleasant to pleasant.\n"
    "- **Arousal** (bottom to top): how calm or energetic it is, sleepy to excited.\n\n"
    "MEMO keeps both on **[-1, 1]**, 0 being neutral. The four quadrants give four rough families "
    "of feelings:"
)
st.markdown(
    "| quadrant | valence | arousal | typical words |\n"
    "|---|---|---|---|\n"
    "| Q1 (top right) | positive | high | happy, excited, joyful |\n"
    "| Q2 (top left) | negative | high | angry, tense, afraid |\n"
    "| Q3 (bottom left) | negative | low | sad, gloomy, tired |\n"
    "| Q4 (bottom right) | positive | low | calm, relaxed, content |"
)
st.markdown(
    "These are *perceived* emotions: what listeners say the music expresses, not necessarily "
    "what they feel themselves."
)

# --- Dynamic MER ---------------------------------------------------------------------------------
st.header("Dynamic emotion recognition: a prediction every half second")
st.markdown(
    "Music changes as it goes, so one label per song is too coarse. In **dynamic music emotion "
    "recognition (MER)** listeners move a cursor on the valence-arousal plane while the music plays; "
    "their ratings are averaged and sampled **twice a second (2 Hz)**. The models therefore cut the "
    "audio into **500 ms frames** and predict valence and arousal **once per frame**. In the public "
    "datasets (DEAM, emoMusic, PMEmo) the first 15 s are not annotated, because ratings need a while "
    "to settle; our synthetic corpus copies that. Listeners also react with a lag: a rating at time "
    "*t* reflects what they heard *before* *t*, which is why several models look back over a window "
    "of past frames."
)
st.markdown(
    "The one exception is the **mood/theme tagger** (Rajamani et al.): it answers a different "
    "question, *which of a list of mood and theme words fit this song*, with one score per tag."
)

# --- Explainable ---------------------------------------------------------------------------------
st.header("What \"explainable\" means here")
st.markdown(
    "Each model returns, beside its prediction, a few **maps**: numbers it computed on the way "
    "that we can draw. Most are **attention weights**: the model scores parts of its input "
    "(past moments, time scales, spectrogram regions, channels), turns the scores into weights "
    "that add up to 1 (a *softmax*) or lie between 0 and 1 (a *sigmoid*), and mixes the parts by "
    "those weights. A large weight means *this part counted more in the mix*. Some maps are not "
    "attention: the per-scale predictions and the tagger's scores along the song show intermediate "
    "outputs, and DBLSTM-ELM's Shapley shares and the tagger's occlusion map measure how the output "
    "changes when parts are removed."
)
st.warning(
    "**Attention shows what a model weighted, not proof of why it decided.** Jain and Wallace "
    "(\"Attention is not Explanation\", NAACL 2019) found that, in text classifiers, quite different "
    "attention patterns can give the same prediction, and that attention weights often disagree with "
    "other ways of measuring importance. (Wiegreffe and Pinter, \"Attention is not not Explanation\", "
    "EMNLP 2019, answered that attention can still be informative when checked carefully.) In class: "
    "treat a bright cell as *a place to listen*, a hypothesis to test by ear or by changing the music, "
    "not as the reason the model gave its answer."
)
st.info(
    "**The shipped checkpoints learned their valence/arousal curves from MEMO's synthetic corpus only** "
    "(150 songs of 45 s, rendered from known valence/arousal trajectories with General MIDI instruments; "
    "106 songs for training, 22 for validation, 22 for testing), with small (`tiny`) model sizes. The only "
    "real recordings they heard are 263 training clips of the 4Q dataset (Panda et al. 2018), labelled "
    "with one quadrant per clip: they taught the sign of each clip's average valence and arousal, never a "
    "curve (the taggers learned 4Q's mood tags). The models respond to the cues the corpus is built from "
    "(tempo, loudness, note density, brightness, mode, register, dissonance), which are the cues music "
    "psychology finds in real music. **On real songs their curves and maps are demonstrations of the "
    "methods, not measurements.** To train a model on a real dataset (DEAM, emoMusic, PMEmo, MTG-Jamendo "
    "or your own in the generic layout), see `python -m memo_core train --help` and the README, for "
    "example `python -m memo_core train --model mca --preset paper --dataset deam --root /data/DEAM "
    "--features deam260 --out mca_deam.pt`."
)
st.markdown(
    "**What the shipped checkpoints actually used** (from `checkpoints/manifest.json` and each "
    "checkpoint's training record; where this differs from the paper, the paper's rule is what "
    "`python -m memo_core reproduce` runs):\n\n"
    "| checkpoints | span they see | audio / features | stopping rule and kept weights |\n"
    "|---|---|---|---|\n"
    "| `mca`, `mca_uniform` | whole songs: 45 s synthetic songs (90 frames, the last 61 annotated) and "
    "30 s 4Q clips; each prediction looks back 5, 10 or 20 frames | `deam260_tonal` per 500 ms | 30 epochs, "
    "no early stopping, then the **best validation epoch** restored (epoch 2 of 30). Ma et al. keep the "
    "weights after their 50th epoch. |\n"
    "| `dblstm_elm` | whole songs, cut into chunks of 10, 20, 30 and 60 frames | `deam260_tonal` | one "
    "stopping decision for all four networks (patience 20; 40 epochs run, best epoch 39 kept for all). "
    "Li et al. stop each network on its own. |\n"
    "| `at`, `bat`, `chaki_lstm`, `transformer` | **whole songs**: trained on all 90 frames of the 45 s "
    "synthetic songs (the first 29 unannotated) and whole 4Q clips; on this dashboard they attend over "
    "every frame of the song you load. Chaki et al. feed only the annotated last 30 s (61 frames) of each "
    "clip. | `deam260_tonal` | early stopping after 5 epochs without improvement, best validation epoch kept "
    "(7 or 11 epochs run). |\n"
    "| `damff` | 30 s windows drawn from whole songs; at prediction 30 s windows slid over the whole song | "
    "log-mel at **16 kHz** (128 bands up to 8 kHz); the paper's is 44.1 kHz (bands up to 22.05 kHz) | 10 "
    "epochs (capped), best validation epoch kept (epoch 6). |\n"
    "| `vggish`, `vggish_sa3`, `vggish_arelu` | the first 1400 mel frames (about 30 s) of each clip | `mel96` "
    "at 12 kHz | 30 epochs (capped), early stopping on validation ROC-AUC, best epoch kept. |"
)

# --- The models ----------------------------------------------------------------------------------
st.header("The models")
st.markdown(
    "One section per paper. Symbols: $x_t$ is the feature vector of frame $t$, $h_t$ an LSTM's "
    "hidden state, $y_t$ the prediction (valence or arousal), $\\sigma$ the logistic sigmoid, "
    "$\\odot$ element-wise multiplication. The maps are drawn on the pages named in each section; "
    "in every heatmap the colour bar beside it gives the scale, and **brighter cells mean larger "
    "values** (more weight)."
)

# MCA --------------------------------------------------------------------------------------------
with st.expander("MCA: Multi-scale Context based Attention (Ma et al., 2017)"):
    st.markdown(
        "**Paper.** Ye Ma, Xinxing Li, Mingxing Xu, Jia Jia and Lianhong Cai, \"Multi-scale Context "
        "Based Attention for Dynamic Music Emotion Prediction\", *Proceedings of the 25th ACM "
        "International Conference on Multimedia (MM '17)*, Mountain View, CA, 2017. "
        "doi:10.1145/3123266.3123408.  \n"
        "**In MEMO:** `ma_lstm`, `ma_alstm`, `mca` (`memo_core/models/mca.py`); shipped checkpoints "
        "`mca` (learned scale weights) and `mca_uniform` (fixed equal weights), on `deam260` features."
    )
    st.markdown(
        "**In plain words.** How we feel at a moment depends on the music we have just heard, but "
        "how far back should we listen: 2.5 seconds, 5, or 10? MCA does not choose. It runs three "
        "small memory networks (LSTMs), each looking back over a different length of the past, "
        "and at every half second it decides how much to trust each one. Inside each window an "
        "attention layer also picks out which past moments mattered."
    )
    st.markdown(
        "**Equations.** Prediction at frame $t$ from the $l$ frames ending at $t$ (Eq. 1); MEMO's "
        "scales are $l = 5, 10, 20$ frames (2.5, 5, 10 s), as in the paper:"
    )
    st.latex(r"y^l_t = \mathrm{LSTM}\left(x_{t-l+1}, \dots, x_t\right)")
    st.markdown(
        "A-LSTM: attention over the window's hidden states $h_{t'}$, $t' = 1..l$ "
        "(Eq. 13, 12, 11, 10):"
    )
    st.latex(
        r"e_{t'} = \tanh\left(W_A h_{t'} + b_A\right), \qquad "
        r"\alpha_{t'} = \frac{\exp(e_{t'})}{\sum_{s=1}^{l} \exp(e_s)}, \qquad "
        r"c_t = \sum_{t'=1}^{l} \alpha_{t'} h_{t'}, \qquad "
        r"y_t = \tanh\left(W_{hv} c_t + b_v\right)"
    )
    st.markdown(
        "MCA: one context vector $c^i_t$ per scale $i = 1..N$, weighted by attention over the "
        "scales (Eq. 17, 16, 15, 14):"
    )
    st.latex(
        r"e^i_t = \tanh\left(W_{FA} c^i_t + b_{FA}\right), \qquad "
        r"\beta^i_t = \frac{\exp(e^i_t)}{\sum_{j=1}^{N} \exp(e^j_t)}, \qquad "
        r"m_t = \sum_{i=1}^{N} \beta^i_t c^i_t, \qquad "
        r"y_t = \tanh\left(W_{hv} m_t + b_v\right)"
    )
    st.markdown(
        "Because the weights $\\beta^i_t$ add up to 1 and the output layer is shared, the fused "
        "output before the $\\tanh$ is the $\\beta$-weighted sum of the scales' own outputs "
        "$z^i_t = W_{hv} c^i_t + b_v$ (what `scale_predictions` shows, after the $\\tanh$):"
    )
    st.latex(
        r"y_t = \tanh\Big(\sum_{i=1}^{N} \beta^i_t\, z^i_t\Big), \qquad "
        r"\text{scale prediction}_i = \tanh\left(z^i_t\right)"
    )
    st.markdown(
        "*Uniform MCA* fixes $\\beta^i_t = 1/N$: it averages the context vectors, so its output is "
        "*not* exactly the mean of the three scale predictions (the $\\tanh$ comes after the mean). "
        "**Training:** the paper stops after 50 epochs and keeps those weights; the shipped `mca` and "
        "`mca_uniform` ran 30 epochs and kept their best validation epoch (epoch 2), the rule they were "
        "trained with (`reproduce` keeps the last epoch, as the paper). "
        "**Where MEMO differs:** the paper's windows always start inside the 15 s of unannotated "
        "music; ours also predict the first frames of a song, where a window has less history than "
        "$l$: the LSTM starts at the song's first frame and missing positions get attention weight 0. "
        "The paper's 25-frame triangle smoothing of the output is the `--smooth` option of "
        "`evaluate` and `predict`, not part of the model."
    )
    st.markdown(
        "**What the maps mean** (page: **Multi-scale**).\n\n"
        "- `scale_weights` ($\\beta$): time along the x-axis, one row (or line) per scale "
        "(2.5 s, 5 s, 10 s). At each moment the three values add up to 1; a bright cell means the "
        "model leaned on that length of memory at that moment.\n"
        "- `scale_predictions`: the valence/arousal each scale alone would give, as curves beside "
        "the fused prediction. Where they disagree, the scale weights decide.\n"
        "- `window_attention/L` ($\\alpha$, one map per scale $L$): x-axis time in the song, y-axis "
        "the lag from $-(L-1) \\times 0.5$ s to 0 s (0 = the current frame). The weights of one "
        "moment add up to 1; a bright cell at lag -3 s means the moment 3 seconds earlier weighed "
        "most in that prediction."
    )
    st.markdown(
        "**What to try in class.** Pick a song with a sudden change (a quiet verse turning into a "
        "loud chorus; a song's curves on the Synthetic corpus page show where it changes). On the "
        "Multi-scale page, watch "
        "whether the weight moves to the short 2.5 s scale right after the change and back to the "
        "10 s scale in steady passages, then compare `mca` with `mca_uniform`: does learning the "
        "weights change the curve?"
    )

# DBLSTM-ELM -------------------------------------------------------------------------------------
with st.expander("DBLSTM-ELM: multi-scale deep bidirectional LSTMs fused by an ELM (Li et al., 2016)"):
    st.markdown(
        "**Paper.** Xinxing Li, Haishu Xianyu, Jiashen Tian, Wenxiao Chen, Fanhang Meng, Mingxing Xu "
        "and Lianhong Cai, \"A Deep Bidirectional Long Short-Term Memory Based Multi-Scale Approach "
        "for Music Dynamic Emotion Prediction\", *Proceedings of the IEEE International Conference on "
        "Acoustics, Speech and Signal Processing (ICASSP)*, 2016.  \n"
        "**In MEMO:** `dblstm_elm` (`memo_core/models/dblstm_elm.py`); shipped checkpoint "
        "`dblstm_elm` (scales 10, 20, 30, 60 frames, ELM fusion), on `deam260` features."
    )
    st.markdown(
        "**In plain words.** Several networks listen to the same song cut into pieces of different "
        "lengths (5, 10, 15 and 30 seconds). Each is *bidirectional*: inside its piece it reads the "
        "music forwards and backwards, so it also uses what comes next. Each gives its own "
        "valence/arousal curve, and a very simple second network, an *extreme learning machine* "
        "(ELM), learns how to blend the curves into one."
    )
    st.markdown(
        "**Equations.** For each scale $i = 1..k$: $o_i$ its output curve, $d_i$ its regression "
        "delta (the local slope) and $s_i$ its smoothed value (a centred moving average), stacked "
        "into the supervector of Section 2.3:"
    )
    st.latex(
        r"W = \left[o_1, d_1, s_1, \dots, o_k, d_k, s_k\right], \qquad "
        r"d_t = \frac{\sum_{n=1}^{N} n\,(o_{t+n} - o_{t-n})}{2 \sum_{n=1}^{N} n^2}"
    )
    st.markdown(
        "The ELM (Section 2.2) is one hidden layer with **random, fixed** input weights $A$ and "
        "biases $b$ and a sigmoid $g$; only the output weights $\\beta$ are learned, in one step, "
        "with the Moore-Penrose pseudo-inverse $H^{+}$ of the hidden outputs $H$ on the training "
        "frames and their targets $T$:"
    )
    st.latex(r"H = g\left(W A + b\right), \qquad \hat{y} = H \beta, \qquad \beta = H^{+} T")
    st.markdown(
        "MEMO's `scale_shares` split the fused prediction $f$ among the scales by **Shapley values**: "
        "scale $i$'s average effect when its $o_i, d_i, s_i$ are added to every coalition $S$ of the "
        "other scales (absent scales set to 0, the neutral value), plus an equal part of $f(\\emptyset)$, "
        "so the shares add up exactly to the prediction:"
    )
    st.latex(
        r"\phi_i = \sum_{S \subseteq \{1..k\} \setminus \{i\}} "
        r"\frac{|S|!\,(k - |S| - 1)!}{k!}\left[f(S \cup \{i\}) - f(S)\right], \qquad "
        r"\text{share}_i = \phi_i + \frac{f(\emptyset)}{k}, \qquad \sum_{i=1}^{k} \text{share}_i = \hat{y}"
    )
    st.markdown(
        "With the plain average fusion (the paper's AVG, `avg` presets) the share of scale $i$ is "
        "simply $o_i / k$. **Where MEMO differs:** one network per scale instead of the paper's "
        "model selection over five partitions and three runs; no autoencoder pre-training of the "
        "first two layers; the ELM is fitted on the validation songs' outputs (as the paper fits it "
        "on held-out outputs), with an optional small ridge term; deltas and smoothing run over the "
        "stitched song (the paper does not say whether they stop at chunk edges); the `tiny` preset "
        "(the shipped checkpoint) uses one small network per scale for both valence and arousal, the "
        "paper one per dimension; the paper stops each network on its own, the shipped checkpoint was "
        "trained with one stopping decision for all four (best epoch 39 of 40), while `reproduce` stops "
        "each network on its own, as the paper. The Shapley shares "
        "are MEMO's own addition: the paper shows no maps."
    )
    st.markdown(
        "**What the maps mean** (page: **Multi-scale**).\n\n"
        "- `scale_predictions`: one curve per scale (10, 20, 30, 60 frames) over time, next to the "
        "fused curve. Jumps every 5, 10, 15 or 30 s are chunk edges: each chunk is predicted on its "
        "own.\n"
        "- `scale_shares`: time on the x-axis, one row per scale; the value is how much of the final "
        "valence (or arousal) that scale contributed. Shares can be negative (the scale pulls the "
        "prediction down); the shares of a column add up to the prediction. A bright cell means that "
        "scale pushed the prediction up most at that moment."
    )
    st.markdown(
        "**What to try in class.** On the Multi-scale page, compare the 10-frame and the 60-frame "
        "curves of one song: which one follows quick changes, which one stays steady? Ask the class "
        "which they would trust for arousal (energy changes fast) and which for valence (mood "
        "tends to change slowly), then check whose share is larger."
    )

# AT / BAT ---------------------------------------------------------------------------------------
with st.expander("AT and BAT attentive LSTMs, with LSTM and Transformer baselines (Chaki et al., 2020)"):
    st.markdown(
        "**Paper.** Sanga Chaki, Pranjal Doshi, Sourangshu Bhattacharya and Priyadarshi Patnaik, "
        "\"Explaining Perceived Emotion Predictions in Music: An Attentive Approach\", *Proceedings of "
        "the 21st International Society for Music Information Retrieval Conference (ISMIR)*, Montréal, "
        "2020.  \n"
        "**In MEMO:** `chaki_lstm`, `at`, `bat`, `transformer` (`memo_core/models/attentive_lstm.py`), "
        "and the MediaEval baseline `mlr` (`memo_core/models/baseline.py`, after Aljanaki, Yang and "
        "Soleymani, \"Emotion in Music task at MediaEval 2015\"). Shipped checkpoints `at`, `bat`, "
        "`chaki_lstm`, `transformer` on `deam260`, and `at_chroma`, `at_cqt`, `at_chroma_cqt`, "
        "`at_spectral`, `at_compare6373` for the paper's feature-subset comparison."
    )
    st.markdown(
        "**In plain words.** An LSTM reads the song frame by frame and keeps a memory. Before each "
        "prediction, AT looks over *every* frame of the song, before and after the current one, and "
        "decides which ones to pay attention to; BAT (backward attention) may only look at frames "
        "that have already been played, as a listener in a live concert would. The Transformer "
        "replaces the memory by attention alone; the plain LSTM and the linear regression (MLR) have "
        "no attention and are the yardsticks."
    )
    st.markdown(
        "**Equations.** Encoder $h_t = \\mathrm{LSTM}(x_1..x_t)$. Additive (Bahdanau) score of frame "
        "$j$ for the prediction at $t$, with the previous state as the query (Eq. 3), softmax weights "
        "(Eq. 4) and context (Eq. 2):"
    )
    st.latex(
        r"e_{tj} = v^{\top} \tanh\left(W_q h_{t-1} + W_k h_j + b\right), \qquad "
        r"\alpha_{tj} = \frac{\exp(e_{tj})}{\sum_{k} \exp(e_{tk})}, \qquad "
        r"c_t = \sum_{j} \alpha_{tj} h_j"
    )
    st.latex(
        r"\text{AT: } j \in \{1, \dots, T\} \text{ (every frame)}, \qquad "
        r"\text{BAT: } j \in \{1, \dots, t-1\} \text{ (past frames only)}"
    )
    st.markdown("Output from the current state, the context and the previous output (Eq. 1):")
    st.latex(r"y_t = g\left(h_t, y_{t-1}, c_t\right) = W_o \left[h_t;\, c_t;\, y_{t-1}\right] + b_o")
    st.markdown("Transformer (Eq. 5, Vaswani et al. 2017), per head, over all frames of the song:")
    st.latex(r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{Q K^{\top}}{\sqrt{d_k}}\right) V")
    st.markdown("Baselines: the LSTM reads its state directly, MLR the current frame only:")
    st.latex(r"\text{LSTM: } y_t = W h_t + b, \qquad \text{MLR: } y_t = W x_t + b")
    st.markdown(
        "**Where MEMO differs or chooses:** the paper leaves $g$ and the score function $a(\\cdot)$ "
        "open; we use a single linear layer and Bahdanau's additive score. $y_{t-1}$ is the model's "
        "own previous output, in training too (no teacher forcing). Eq. 3's range $j \\le t-1$ is "
        "used for BAT only; AT attends to all frames (Eq. 2 sums over the whole song). In BAT the "
        "first frame has nothing to attend to: its row of weights is all 0. The Transformer's widths "
        "follow Vaswani et al.'s base model (the paper gives only its 1, 2 or 4 layers). The paper "
        "trains one model per dimension on 6670 ComParE features; the shipped checkpoints predict "
        "valence and arousal together from `deam260_tonal`. **Span:** the paper feeds only the last "
        "30 s of each 45 s clip (its 61 annotated frames), so its attention maps are 61 x 61; the "
        "shipped checkpoints were trained on whole songs (all 90 frames of a 45 s synthetic song, and "
        "whole 4Q clips) and attend over every frame of the song you load, so their maps also cover "
        "the unannotated opening (`reproduce` uses the paper's 61 frames)."
    )
    st.markdown(
        "**What the maps mean** (page: **Attention**).\n\n"
        "- `temporal_attention` (AT, BAT): a square heatmap. The y-axis is the prediction time "
        "(the moment being predicted), the x-axis the attended time (the moment looked at), both in "
        "seconds, as in the paper's Figures 3 and 6. The weights of one prediction time add up to 1. "
        "A bright cell at (y = 30 s, x = 12 s) means that when predicting second 30 the model leaned "
        "on second 12. In BAT's map every cell whose attended time is at or after the prediction "
        "time is 0, so half the map (one side of the diagonal) stays dark: it cannot look ahead.\n"
        "- `layer_attention` (Transformer): the same kind of map for every layer and head "
        "(choose them on the page). Different heads often specialise: one looks at neighbours "
        "(a bright diagonal), another at a few landmark moments (bright vertical stripes)."
    )
    st.markdown(
        "**What to try in class.** Open the AT and the BAT map of the same song side by side on the "
        "Attention page. Ask: which model could run during a live concert, and why is half of BAT's "
        "map dark? Then find a bright vertical stripe in AT's map, play the song at that moment and "
        "discuss what happens in the music there (a drum entry? a key change?). Remember the "
        "caution above: it is a place to listen, not a proof."
    )

# DAMFF ------------------------------------------------------------------------------------------
with st.expander("DAMFF: Dual Attention-based Multi-scale Feature Fusion (Zhang et al., 2023)"):
    st.markdown(
        "**Paper.** Liyue Zhang, Xinyu Yang, Yichi Zhang and Jing Luo, \"Dual Attention-based "
        "Multi-scale Feature Fusion Approach for Dynamic Music Emotion Recognition\", *Proceedings of "
        "the 24th International Society for Music Information Retrieval Conference (ISMIR)*, Milan, "
        "2023.  \n"
        "**In MEMO:** `damff` (`memo_core/models/damff.py`); shipped checkpoint `damff` on "
        "`logmel128_steps` (each 500 ms step is a 128-band x 50-frame log-mel block) computed at "
        "**16 kHz**, so its bands stop at 8 kHz; the paper computes it at 44.1 kHz (bands up to "
        "22.05 kHz), which `reproduce` uses for the paper's runs."
    )
    st.markdown(
        "**In plain words.** DAMFF looks at a picture of the sound, the log-mel spectrogram "
        "(low to high pitch bands from bottom to top, time from left to right), half a second at a "
        "time. Two sets of filters, a small one (3x3) and a larger one (5x5), look at the picture "
        "in fine and coarse detail. An attention module then decides, for every spot of the picture "
        "and every filter channel, how to blend the fine and the coarse view. A bidirectional LSTM "
        "finally reads these half-second summaries across 30 s of music and predicts valence and "
        "arousal."
    )
    st.markdown(
        "**Equations.** $A$ and $B$ are the outputs of the 3x3 and 5x5 branches of the last "
        "convolutional layer, $X = A + B$. SCAM's channel attention (Eq. 1; global average pooling "
        "over the map, then two point-wise convolutions) and spatial attention (Eq. 2; average over "
        "channels, then two point-wise convolutions over the positions), with $\\delta$ = ReLU and "
        "$\\mathrm{BN}$ = batch normalisation:"
    )
    st.latex(
        r"C = \mathrm{BN}\left(\mathrm{Conv}_2\left(\delta\left(\mathrm{BN}\left(\mathrm{Conv}_1"
        r"\left(\mathrm{GAP}(X)\right)\right)\right)\right)\right) \in \mathbb{R}^{C \times 1 \times 1}"
    )
    st.latex(
        r"S = \mathrm{BN}\left(\mathrm{Conv1d}_2\left(\delta\left(\mathrm{BN}\left(\mathrm{Conv1d}_1"
        r"\left(\mathrm{Pool1d}(X)\right)\right)\right)\right)\right) \in \mathbb{R}^{1 \times H \times W}"
    )
    st.markdown("The gate (Eq. 3; $S$ and $C$ broadcast to $C \\times H \\times W$) and the fusion (Eq. 4):")
    st.latex(r"X' = \sigma\left(S \oplus C\right), \qquad Z = X' \odot A + \left(1 - X'\right) \odot B")
    st.markdown(
        "Where $X'$ is near 1, $Z$ takes the fine 3x3 view $A$; near 0, the coarse 5x5 view $B$. "
        "Training loss (Sec. 4.3): $1 - \\mathrm{CCC}$ for arousal, RMSE for valence. "
        "**Where MEMO differs or chooses:** the paper's Figure 4 (its five architectures) is not in "
        "its text, so the kernel pairs of the `tf`, `square`, `ts`, `fs` presets are our reading; "
        "channel sizes, the reduction ratio (4) and the BiLSTM size are ours; the shipped checkpoint "
        "is the small `tiny` size. Whole songs are predicted with the paper's sliding 30 s window "
        "(Sec. 4.4.1), hop 0.5 s by default."
    )
    st.markdown(
        "**What the maps mean** (page: **DAMFF**). In the full model only one of the three numbers "
        "touches the features: the gate $X' = \\sigma(S + C)$, which *chooses* between the fine view "
        "$A$ and the coarse view $B$ at every position and channel. $\\sigma(S)$ and $\\sigma(C)$ are "
        "never multiplied onto anything on their own; they are the two halves of the gate's score, "
        "drawn separately.\n\n"
        "- `spatial_attention` = $\\sigma(S)$, one small map per 500 ms step: rows are groups of "
        "mel bands (low pitch at the bottom, high at the top; their frequencies in Hz follow the "
        "checkpoint's own sample rate), columns run through the half second in time order (about "
        "80 ms each). Values lie between 0 and 1. **In the forward pass** $S$ is added to $C$ before "
        "the sigmoid, so a bright cell (large $S$) pushes that position towards the fine 3x3 view $A$, "
        "for every channel, and a dark cell towards the coarse 5x5 view $B$; a strong channel score "
        "$C$ can override it. **It does not mean** that the region was emphasised, amplified, kept or "
        "important to the prediction: both views carry the region either way, and the map says only "
        "which view of it was used.\n"
        "- `channel_attention` = $\\sigma(C)$: time along the x-axis, one row per filter channel, "
        "values 0 to 1. **In the forward pass** $C$ shifts the gate of that whole channel, at every "
        "position, towards $A$ (bright) or $B$ (dark). **It does not mean** the channel was switched "
        "on or off: a dark channel still passes its coarse view $B$ on.\n"
        "- `fusion_gate` = $X'$ averaged over channels, on the same grid as the spatial map: "
        "the share of the fine 3x3 view $A$ in the output there, bright (near 1) = mostly $A$, dark "
        "(near 0) = mostly $B$. This is the only one of the three that the fusion actually applies "
        "(averaged over channels for display). **It does not mean** how much that region mattered to "
        "valence or arousal.\n\n"
        "In the ablation `wo_fusion` the gate does multiply: $Z = X' \\odot (A + B)$, so there a "
        "bright cell keeps more of the summed views and a dark one damps them; `wo_channel` and "
        "`wo_spatial` gate with $\\sigma(S)$ or $\\sigma(C)$ alone, so there the one map is the gate."
    )
    st.markdown(
        "**What to try in class.** On the DAMFF page, pick a step with a drum hit and one with a "
        "held chord. Does the spatial map light up the low bands at the hit, the middle bands on "
        "the chord? Does the fusion gate prefer the fine view on sharp attacks and the coarse view "
        "on sustained sounds? Let the class predict first, then look."
    )

# VGG-ish ----------------------------------------------------------------------------------------
with st.expander(
    "VGG-ish mood/theme tagger with self-attention, AReLU and late fusion (Rajamani et al., 2020)"
):
    st.markdown(
        "**Paper.** Srividya Tirunellai Rajamani, Kumar Rajamani and Björn Schuller, \"Emotion and "
        "Theme Recognition in Music Using Attention-Based Methods\", *Proceedings of the MediaEval "
        "2020 Workshop*, online, 14-15 December 2020. It builds on the MTG-Jamendo baseline "
        "(D. Bogdanov et al., \"The MTG-Jamendo Dataset for Automatic Music Tagging\", 2019; "
        "K. Choi et al., \"Automatic Tagging Using Deep Convolutional Neural Networks\", ISMIR 2016), "
        "stand-alone self-attention (P. Ramachandran et al., \"Stand-Alone Self-Attention in Vision "
        "Models\", NeurIPS 2019) and AReLU (D. Chen, J. Li and K. Xu, \"AReLU: Attention-based "
        "Rectified Linear Unit\", arXiv:2006.13858, 2020).  \n"
        "**In MEMO:** `vggish` (`memo_core/models/vggish.py`, blocks in `memo_core/models/layers.py`); "
        "shipped checkpoints `vggish` (baseline), `vggish_sa3` (self-attention in layer 3) and "
        "`vggish_arelu` (AReLU), on `mel96`, tagging the synthetic corpus's 18 tags (the paper: "
        "MTG-Jamendo's 56 mood/theme tags)."
    )
    st.markdown(
        "**In plain words.** This model does not draw a curve; it reads the first 30 seconds of a "
        "song's spectrogram like a picture and answers *which mood and theme words fit*, with a "
        "score between 0 and 1 for each tag. The paper tried two changes to a standard image-style "
        "network: replacing one layer of filters by *self-attention* (each spot of the picture "
        "looks at its neighbours and decides which matter), and a *learnable activation* (AReLU). "
        "Averaging the scores of several such models (late fusion) worked best."
    )
    st.markdown(
        "**Equations.** Stand-alone self-attention over each position's $k \\times k$ neighbourhood "
        "$\\mathcal{N}_k(i,j)$ (Ramachandran et al., Eq. 3), with queries, keys and values "
        "$q = W_q x_{ij}$, $k = W_k x_{ab}$, $v = W_v x_{ab}$ and a learned embedding "
        "$r_{a-i,\\,b-j}$ of the relative offset, per head:"
    )
    st.latex(
        r"y_{ij} = \sum_{(a,b) \in \mathcal{N}_k(i,j)} "
        r"\mathrm{softmax}_{ab}\left(\frac{q_{ij}^{\top} k_{ab} + q_{ij}^{\top} r_{a-i,\,b-j}}"
        r"{\sqrt{d_{\mathrm{head}}}}\right) v_{ab}"
    )
    st.markdown("AReLU (Chen et al.), two learned numbers $\\alpha, \\beta$ per layer:")
    st.latex(
        r"\mathrm{AReLU}(x) = \left(1 + \sigma(\beta)\right) \max(0, x) "
        r"- \mathrm{clamp}(\alpha, 0.01, 0.99)\, \max(0, -x)"
    )
    st.markdown(
        "Positive inputs are amplified by a factor between 1 and 2, negative ones kept but "
        "shrunk. Tag scores and late fusion of $M$ models (the paper's rows 6-7: a plain average):"
    )
    st.latex(
        r"p_{\text{tag}} = \sigma\left(\text{logit}_{\text{tag}}\right), \qquad "
        r"p^{\text{fused}}_{\text{tag}} = \frac{1}{M} \sum_{m=1}^{M} p^{(m)}_{\text{tag}}"
    )
    st.markdown(
        "**Where MEMO differs or chooses:** the $1/\\sqrt{d_{\\mathrm{head}}}$ scaling is ours "
        "(Ramachandran's Eq. 3 has none), logits are dot products within each head (8 in the paper "
        "presets, 4 in the `tiny` ones), and neighbours outside the map are masked rather than "
        "zero-padded; each tag's decision threshold is the F1-best on the validation songs (the "
        "paper does not say how it chose decisions). "
        "**The three maps are MEMO's own: the paper shows none.**"
    )
    st.markdown(
        "**What the maps mean** (page: **Mood/theme**).\n\n"
        "- `tag_windows`: the tagger slid along the whole song. x-axis the start time of each "
        "30 s window, one row per tag; a bright cell means that tag scored high for that stretch "
        "of the song.\n"
        "- `tag_occlusion`: on the first 30 s, one region at a time is silenced (set to the "
        "average) and the drop in each tag's score is recorded. x-axis the region's time, one row "
        "per tag; a positive (bright) cell means that region *raised* the tag, a negative one that "
        "it lowered it. Unlike attention, this measures an effect on the output.\n"
        "- `self_attention` (the `vggish_sa3` checkpoint only): for one head and one position of "
        "layer 3's map (pooled pitch bands x time), how much each of the 3x3 neighbours counted; "
        "each position's weights add up to 1."
    )
    st.markdown(
        "**What to try in class.** On the Mood/theme page, choose a song whose character changes "
        "(a calm opening and an energetic ending) and follow one tag along `tag_windows`. Then "
        "compare the three checkpoints' scores with their late-fused average: do the models agree "
        "on the top three tags? Try the same song on the Emotion lab page and ask whether the tags "
        "and the valence/arousal curve tell the same story."
    )

# --- Metrics -------------------------------------------------------------------------------------
st.header("Glossary: the numbers on the other pages")
st.markdown(
    "Valence and arousal are compared with the listeners' ratings frame by frame. A figure is "
    "either **pooled** (all test frames of all songs together) or **per song** (computed for each "
    "song, then averaged); the papers differ, so MEMO names which (e.g. `CCC-per-song`).\n\n"
    "- **RMSE** (root mean squared error): the typical size of the error, in rating units "
    "(on [-1, 1], 0.2 is a tenth of the whole scale); lower is better, and big errors count extra.\n"
    "- **MAE** (mean absolute error): the average size of the error, in rating units; lower is better.\n"
    "- **PCC** (Pearson's r): whether the prediction rises and falls *with* the ratings (1 = perfectly "
    "in step, 0 = unrelated), whatever its offset or scale.\n"
    "- **CCC** (Lin's concordance correlation coefficient): like Pearson's r but also penalised when the "
    "curve is shifted or stretched, so 1 only for an exact match; DAMFF's main metric.\n"
    "- **R²** (coefficient of determination): the share of the ratings' variation the model explains "
    "(1 = all, 0 = no better than always predicting the average, below 0 = worse than that).\n"
    "- **Kendall's tau** (tau-b, per song): of all pairs of moments in a song, how often the model "
    "orders them (which is higher) the same way as the listeners, from -1 to 1.\n"
    "- **ROC-AUC** (tags, averaged over tags): the chance that a song carrying a tag gets a higher score "
    "for it than a song without it; 0.5 is guessing, 1 perfect.\n"
    "- **PR-AUC** (average precision, averaged over tags): how precise the top-scored songs are for each "
    "tag; guessing scores about the tag's frequency, so it is low for rare tags."
)
st.latex(
    r"\mathrm{RMSE} = \sqrt{\tfrac{1}{n}\sum_t (y_t - \hat{y}_t)^2}, \qquad "
    r"\mathrm{CCC} = \frac{2 \rho\, \sigma_y \sigma_{\hat{y}}}"
    r"{\sigma_y^2 + \sigma_{\hat{y}}^2 + (\mu_y - \mu_{\hat{y}})^2}, \qquad "
    r"R^2 = 1 - \frac{\sum_t (y_t - \hat{y}_t)^2}{\sum_t (y_t - \bar{y})^2}"
)

st.header("Rating scales: how each dataset is mapped to [-1, 1]")
st.markdown(
    "| dataset | ratings as distributed | in MEMO |\n"
    "|---|---|---|\n"
    "| DEAM (MediaEval 2013-2015) | dynamic: 2 Hz from 15 s, already in [-1, 1]; static song ratings "
    "1-9 | dynamic kept; static mapped with $(y - 5)/4$ |\n"
    "| emoMusic (1000 Songs) | dynamic: 2 Hz, 15-45 s, already in [-1, 1]; static 1-9 | dynamic kept; "
    "static mapped with $(y - 5)/4$ |\n"
    "| PMEmo | dynamic: 2 Hz from 15.5 s, in [0, 1] | mapped with $2y - 1$ |\n"
    "| generic layout (MER1101, your own) | [-1, 1], [0, 1] or 1-9 (option `scale`) | $y$, $2y - 1$ or "
    "$(y - 5)/4$ |\n"
    "| MTG-Jamendo mood/theme | tags only (56 in MediaEval 2020), no valence/arousal | 0/1 per tag |\n"
    "| MEMO synthetic corpus | designed trajectories and simulated raters, [-1, 1], 2 Hz from 15 s; "
    "18 tags | kept |"
)
st.caption(
    "A standard deviation over raters is rescaled by the same factor (1/4 for 1-9, 2 for [0, 1]). "
    "Source: the docstrings of `memo_core/data/*.py`."
)
