// Sign-in with Entra ID (MSAL for the browser: authorization code with PKCE, redirect flow).
// Local mode (sign-in off) never loads MSAL. The MSAL session lives here, outside Alpine's data:
// reactive proxies around MSAL's objects cannot be cloned into the messages MSAL posts between
// windows.
import { useToken } from "./api.js";

class SignIn {
  constructor(settings) {
    this.settings = settings;
    this.msal = null;
    this.account = null;
  }

  static loadLibrary() {
    if (window.msal) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/vendor/msal/msal-browser.min.js";
      script.onload = () => resolve();
      script.onerror = () => reject(new Error("the sign-in library did not load"));
      document.head.appendChild(script);
    });
  }

  async start() {
    await SignIn.loadLibrary();
    const origin = window.location.origin;
    this.msal = new window.msal.PublicClientApplication({
      auth: {
        clientId: this.settings.client_id,
        authority: this.settings.authority,
        // The bridge page hands the answer back to this page (MSAL v5).
        redirectUri: origin + "/auth/redirect.html",
        postLogoutRedirectUri: origin + "/",
      },
      cache: { cacheLocation: "sessionStorage" },
    });
    await this.msal.initialize();
    const result = await this.msal.handleRedirectPromise();
    if (result && result.account) this.msal.setActiveAccount(result.account);
    this.account = this.msal.getActiveAccount() || this.msal.getAllAccounts()[0] || null;
    if (this.account) this.msal.setActiveAccount(this.account);
    return this.account;
  }

  signIn() {
    return this.msal.loginRedirect({ scopes: this.settings.scopes, redirectStartPage: window.location.href });
  }

  signOut() {
    return this.msal.logoutRedirect({ account: this.account });
  }

  async token() {
    const request = { scopes: this.settings.scopes, account: this.account };
    try {
      return (await this.msal.acquireTokenSilent(request)).accessToken;
    } catch (e) {
      if (e instanceof window.msal.InteractionRequiredAuthError) {
        await this.msal.acquireTokenRedirect(request);
        return null;
      }
      throw e;
    }
  }
}

let session = null;

/** Whether a sign-in session has been started (sign-in is on). */
export function hasSession() { return session !== null; }

/**
 * Starts MSAL with the server's settings (`/api/client-config`'s `sign_in`) and from then on
 * sends its access token with every API call. Resolves to the signed-in account, or null.
 */
export function startSession(settings) {
  session = new SignIn(settings);
  useToken(() => session.token());
  return session.start();
}

/** Off to Microsoft's sign-in page (starting MSAL first if it is not yet). */
export async function signIn(settings) {
  if (!session) await startSession(settings);
  await session.signIn();
}

export function signOut() { return session.signOut(); }
