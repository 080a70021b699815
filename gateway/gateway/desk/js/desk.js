// The counter ("Guichet"): sign in, check a countermark or a ticket's QR code, validate it,
// undo a validation; offline, check signed tickets in the browser and sync the validations
// when the network is back.

import { NetworkDown, Problem, all, call, countermarkPath } from "./api.js";
import * as say from "./messages.js";
import { scan } from "./scanner.js";
import * as store from "./store.js";
import { importKeys, isSigned, verify } from "./tickets.js";

const REFRESH_MS = 60_000;
const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem("desk.token"),
  account: sessionStorage.getItem("desk.account"),
  online: navigator.onLine,
  venues: new Map(), // id → {name, timezone}
  keys: new Map(), // kid → CryptoKey
  revoked: new Map(), // venue id → {ids: Set of booking ids, since}
  current: null, // what "Valider" and "Annuler" act on
  conflicts: [],
  stopScan: null,
  timer: null,
};

// --- network ------------------------------------------------------------------------------

function setOnline(online) {
  state.online = online;
  $("network").textContent = online ? "En ligne" : "Hors ligne";
  $("network").classList.toggle("offline", !online);
}

/** An API call with the pro's token: a network failure switches to offline mode, an expired
 * session asks to sign in again. */
async function api(method, path, body) {
  try {
    const answer = await call(method, path, { token: state.token, body });
    setOnline(true);
    return answer;
  } catch (error) {
    if (error instanceof NetworkDown) setOnline(false);
    if (error instanceof Problem && error.status === 401) signOut(say.SESSION_EXPIRED);
    throw error;
  }
}

// --- signing in and out -------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const email = $("email").value.trim().toLowerCase();
  $("sign-in-error").textContent = "";
  try {
    const answer = await call("POST", "/v1/pro/auth/token", {
      body: { email, password: $("password").value },
    });
    state.token = answer.access_token;
    state.account = email;
    sessionStorage.setItem("desk.token", state.token);
    sessionStorage.setItem("desk.account", email);
    $("password").value = "";
    await start();
  } catch (error) {
    $("sign-in-error").textContent =
      error instanceof Problem ? say.sentence(error) : "Réseau indisponible : réessayez.";
  }
}

function signOut(message = "") {
  state.token = state.account = null;
  sessionStorage.removeItem("desk.token");
  sessionStorage.removeItem("desk.account");
  clearInterval(state.timer);
  stopScanning();
  clearResult();
  $("counter").hidden = $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
}

async function start() {
  $("sign-in").hidden = true;
  $("counter").hidden = $("sign-out").hidden = false;
  $("countermark").focus();
  clearInterval(state.timer);
  state.timer = setInterval(refreshAndSync, REFRESH_MS);
  await refreshAndSync();
}

// --- what an offline counter keeps: the ticket keys, the venues, their revoked tickets -----

async function refresh() {
  state.keys = await importKeys(await api("GET", "/v1/tickets/jwks.json"));
  const venues = await all("/v1/pro/venues", state.token);
  state.venues = new Map(venues.map((venue) => [venue.id, venue]));
  for (const venue of venues) {
    const known = state.revoked.get(venue.id) || { ids: new Set(), since: null };
    const query = known.since ? `?since=${encodeURIComponent(known.since)}` : "";
    try {
      const answer = await api("GET", `/v1/pro/venues/${venue.id}/tickets/revoked${query}`);
      answer.revoked_booking_ids.forEach((id) => known.ids.add(id));
      answer.restored_booking_ids.forEach((id) => known.ids.delete(id));
      known.since = answer.next_since;
      state.revoked.set(venue.id, known);
    } catch (error) {
      // A venue the booking service has not heard of yet has no bookings: nothing revoked.
      if (!(error instanceof Problem && error.status === 404)) throw error;
    }
  }
  document.body.dataset.ready = "true";
}

async function refreshAndSync() {
  if (!state.token) return;
  try {
    await refresh();
    await sync();
  } catch (error) {
    if (!(error instanceof NetworkDown || error instanceof Problem)) throw error;
  }
}

// --- the result panel ---------------------------------------------------------------------

function clearResult() {
  state.current = null;
  $("result").hidden = true;
}

function show(kind, status, details = [], reminder = "") {
  $("result").hidden = false;
  $("result").className = `result ${kind}`;
  $("result-status").textContent = status;
  $("result-details").replaceChildren(
    ...details.flatMap(([term, value]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = term;
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  $("result-reminder").hidden = !reminder;
  $("result-reminder").textContent = reminder;
  $("use").hidden = $("unuse").hidden = true;
}

function bookingDetails(booking) {
  const name = `${booking.beneficiary.first_name} ${booking.beneficiary.last_name}`;
  return {
    details: [
      ["Film", booking.offer_title],
      ["Séance", say.when(booking.starts_at, booking.venue_timezone)],
      ["Lieu", booking.venue_name],
      ["Places", say.places(booking.quantity)],
      ["Prix", say.price(booking)],
      ["Jeune", name],
      ["Contremarque", booking.countermark],
      // A showtime sold through the cinema's ticketing system: its tickets and seats.
      ...booking.external_tickets.map((t) => ["Billet", t.seat ? `${t.barcode} (place ${t.seat})` : t.barcode]),
    ],
    reminder: `Vérifiez la pièce d'identité de ${name} avant de valider.`,
  };
}

function showBooking(booking) {
  const { details, reminder } = bookingDetails(booking);
  state.current = { typed: booking.countermark, booking };
  if (booking.status === "USED") {
    show("used", `Contremarque validée le ${say.when(booking.used_at, booking.venue_timezone)}.`, details);
    $("unuse").hidden = false;
  } else {
    show("ok", "Réservation valide : vous pouvez valider la contremarque.", details, reminder);
    $("use").hidden = false;
  }
}

function refuse(sentence, typed = null) {
  show("refused", sentence);
  state.current = typed ? { typed } : null;
  $("unuse").hidden = !typed;
}

function showProblem(error, typed) {
  if (error instanceof Problem) {
    // A used booking may be un-validated from here.
    refuse(say.sentence(error), error.code === "BOOKING_ALREADY_USED" ? typed : null);
  } else if (!(error instanceof NetworkDown)) {
    throw error;
  }
}

function markRevoked(booking, revoked) {
  const known = state.revoked.get(booking.venue_id);
  if (known) known.ids[revoked ? "add" : "delete"](booking.booking_id);
}

// --- checking, validating, undoing --------------------------------------------------------

async function check(event) {
  event?.preventDefault();
  const typed = $("countermark").value.trim();
  clearResult();
  if (!typed) return;
  if (state.online) {
    try {
      showBooking(await api("GET", countermarkPath(typed)));
      return;
    } catch (error) {
      showProblem(error, typed);
      if (!(error instanceof NetworkDown)) return;
    }
  }
  await checkOffline(typed);
}

async function use() {
  const current = state.current;
  if (!current) return;
  if (current.offline) return useOffline(current.offline);
  try {
    const booking = await api("POST", `${countermarkPath(current.typed)}/use`);
    markRevoked(booking, true);
    showBooking(booking);
  } catch (error) {
    showProblem(error, current.typed);
    if (error instanceof NetworkDown) refuse("Réseau indisponible : la contremarque n'est pas validée. Scannez le QR code du billet pour le valider hors ligne.");
  }
}

async function unuse() {
  const current = state.current;
  if (!current) return;
  try {
    const booking = await api("POST", `${countermarkPath(current.typed)}/unuse`);
    markRevoked(booking, false);
    showBooking(booking);
    $("result-status").textContent = "Validation annulée : la réservation est de nouveau valable.";
  } catch (error) {
    showProblem(error, null);
    if (error instanceof NetworkDown) refuse("Réseau indisponible : la validation n'est pas annulée.");
  }
}

// --- offline ------------------------------------------------------------------------------

async function checkOffline(typed) {
  if (!isSigned(typed)) return refuse(say.TYPED_OFFLINE);
  const ticket = await verify(typed, state.keys);
  if (!ticket) return refuse(say.FORGED);
  const venue = state.venues.get(ticket.vid);
  if (!venue) return refuse(say.NOT_FOUND); // another offerer's: as unknown as online
  if (state.revoked.get(venue.id)?.ids.has(ticket.bid)) {
    return refuse("Billet refusé : cette réservation a été annulée ou déjà validée.");
  }
  const showtime = ticket.st * 1000;
  if (say.localDay(showtime, venue.timezone) !== say.localDay(Date.now(), venue.timezone)) {
    return refuse(`Billet refusé : il est pour la séance du ${say.when(showtime, venue.timezone)}, pas pour aujourd'hui.`);
  }
  const done = await store.find(store.keyOf(state.account, ticket.bid));
  if (done) {
    return refuse(`Billet déjà validé hors ligne sur ce poste le ${say.when(done.validated_at, venue.timezone)}.`);
  }
  show(
    "ok",
    "Billet valide (vérifié hors ligne) : vous pouvez valider la contremarque.",
    [
      ["Séance", say.when(showtime, venue.timezone)],
      ["Lieu", venue.name],
      ["Places", say.places(ticket.q)],
      ["Contremarque", ticket.cm],
    ],
    "Vérifiez la pièce d'identité du jeune (son nom s'affichera au retour du réseau).",
  );
  state.current = { offline: { ticket, venue } };
  $("use").hidden = false;
}

async function useOffline({ ticket, venue }) {
  const validatedAt = new Date().toISOString();
  await store.add({
    key: store.keyOf(state.account, ticket.bid),
    account: state.account,
    booking_id: ticket.bid,
    countermark: ticket.cm,
    venue_id: venue.id,
    validated_at: validatedAt,
  });
  show("used", "Contremarque validée hors ligne : elle sera synchronisée au retour du réseau.", [
    ["Validée le", say.when(validatedAt, venue.timezone)],
    ["Lieu", venue.name],
    ["Places", say.places(ticket.q)],
    ["Contremarque", ticket.cm],
  ]);
  await showQueue();
}

/** Sends the validations made offline, oldest first, each with its time. */
async function sync() {
  for (const entry of await store.pending(state.account)) {
    try {
      await api("POST", `${countermarkPath(entry.countermark)}/use`, {
        validated_at: entry.validated_at,
      });
    } catch (error) {
      if (!(error instanceof Problem) || error.status === 401) break; // kept for later
      const timezone = state.venues.get(entry.venue_id)?.timezone || "Europe/Paris";
      state.conflicts.push(
        `Contremarque ${entry.countermark} validée hors ligne le ` +
          `${say.when(entry.validated_at, timezone)} : ${say.sentence(error)}`,
      );
    }
    await store.remove(entry.key);
  }
  await showQueue();
}

async function showQueue() {
  const waiting = state.account ? await store.pending(state.account) : [];
  $("offline-summary").textContent = waiting.length
    ? `${waiting.length} validation(s) hors ligne en attente de synchronisation.`
    : "Aucune validation hors ligne en attente.";
  $("offline-queue").replaceChildren(
    ...waiting.map((entry) => {
      const item = document.createElement("li");
      item.textContent = `${entry.countermark} — en attente`;
      return item;
    }),
  );
  $("conflicts-title").hidden = !state.conflicts.length;
  $("conflicts").replaceChildren(
    ...state.conflicts.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
}

// --- the camera ---------------------------------------------------------------------------

function stopScanning() {
  state.stopScan?.();
  state.stopScan = null;
  $("scanner").hidden = true;
}

async function startScanning() {
  $("scanner").hidden = false;
  try {
    state.stopScan = await scan($("camera"), (text) => {
      state.stopScan = null;
      $("scanner").hidden = true;
      $("countermark").value = text;
      check();
    });
  } catch {
    stopScanning();
    refuse("Caméra indisponible : saisissez la contremarque ou collez le contenu du QR code.");
  }
}

// --- wiring -------------------------------------------------------------------------------

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("check-form").addEventListener("submit", check);
$("use").addEventListener("click", use);
$("unuse").addEventListener("click", unuse);
$("scan").addEventListener("click", startScanning);
$("scan-stop").addEventListener("click", stopScanning);
window.addEventListener("offline", () => setOnline(false));
window.addEventListener("online", () => {
  setOnline(true);
  refreshAndSync();
});
setOnline(navigator.onLine);
if (state.token) start();
