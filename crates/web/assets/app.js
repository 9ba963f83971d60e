// Behaviour every page shares, kept out of the markup so the Content-Security-Policy can
// forbid inline script: a select or input marked data-autosubmit submits its form on change.
document.addEventListener('change', function (e) {
  var el = e.target;
  if (el && el.hasAttribute && el.hasAttribute('data-autosubmit') && el.form) {
    el.form.submit();
  }
});
// A page part marked data-refresh="N" (a background run in progress) reloads the page every
// N seconds until the server stops marking it.
(function () {
  var el = document.querySelector('[data-refresh]');
  if (el) setTimeout(function () { window.location.reload(); }, 1000 * Number(el.dataset.refresh));
})();
