// The Ask page (Analysts, with AI_FEATURES_ENABLED): a question in plain words, asked in the
// background (a job on the server's queue, polled until it ends), answered with the database's
// figures; cited events open in the event panel.
import { ApiError, api } from "../core/api.js";
import { navigate } from "../core/router.js";
import { eventPanel } from "./event-panel.js";

export function askPage() {
  return {
    question: "",
    asking: false,
    askElapsed: 0,
    askStatus: "",
    answer: null,

    show() {
      this.$nextTick(() => this.$refs.question && this.$refs.question.focus());
    },

    /** Asks, then polls the job until it ends, so a slow model never holds a request open and
     * the page shows progress. */
    async askQuestion() {
      const question = this.question.trim();
      if (!question || this.asking) return;
      this.asking = true;
      this.answer = null;
      this.askElapsed = 0;
      this.askStatus = "queued";
      const started = Date.now();
      const timer = setInterval(() => { this.askElapsed = Math.round((Date.now() - started) / 1000); }, 500);
      try {
        // "Today" and "yesterday" are the viewer's days: the browser's offset from UTC goes along.
        const utc_offset_minutes = 0 - new Date().getTimezoneOffset();
        const accepted = await api("/api/ask", { method: "POST", body: { question, async: true, utc_offset_minutes } });
        let wait = 300;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          wait = Math.min(wait * 1.5, 2000);
          const job = await api(accepted.status_url);
          this.askStatus = job.status;
          if (job.status === "succeeded") {
            this.answer = job.result;
            break;
          }
          if (job.status === "failed") {
            throw new ApiError("The question could not be answered.", job.error || "The job failed.", null, 0);
          }
        }
      } catch (e) {
        this.fail(e);
      } finally {
        clearInterval(timer);
        this.asking = false;
        this.askStatus = "";
      }
    },
    askProgress() {
      const what = this.askStatus === "running" ? "Working on it…" : "Waiting for a worker…";
      return `${what} ${this.askElapsed} s`;
    },

    /** The answer's text in pieces: words, and cited event ids that open the event. */
    answerParts() {
      if (!this.answer) return [];
      const cited = new Set(this.answer.cited);
      const parts = [];
      const re = /\[([0-9a-f-]{36})\]/g;
      let last = 0;
      let m;
      const text = this.answer.answer;
      while ((m = re.exec(text)) !== null) {
        if (m.index > last) parts.push({ text: text.slice(last, m.index), id: null, key: parts.length });
        parts.push({ text: cited.has(m[1]) ? m[1].slice(0, 8) : m[0], id: cited.has(m[1]) ? m[1] : null, key: parts.length });
        last = m.index + m[0].length;
      }
      if (last < text.length) parts.push({ text: text.slice(last), id: null, key: parts.length });
      return parts;
    },
    answerQuery() {
      if (!this.answer) return "";
      return Object.entries(this.answer.query).map(([k, v]) => `${k}=${v}`).join("  ") || "(every event)";
    },
    answerSource() {
      if (!this.answer) return "";
      const read = this.answer.read_by === "model" ? "read by the model" : "read by AOC's parser";
      const written = this.answer.written_by === "model" ? "worded by the model" : "AOC's summary";
      return `${read}, ${written}${this.answer.cached ? ", from the cache" : ""}`;
    },
    answerEventsLink() {
      if (!this.answer) return "/events";
      return "/events?" + new URLSearchParams(this.answer.query).toString();
    },
    openCited(id) { return eventPanel.open(id, false); },
    showAnswerEvents() {
      if (!this.answer) return undefined;
      return navigate(this.answerEventsLink());
    },
  };
}
